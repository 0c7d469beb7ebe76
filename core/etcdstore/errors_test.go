package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"provisio/core"
	"provisio/core/etcdstore"
)

// TestReadError_Sentences: a read etcd could not serve for want of a
// quorum says the cluster did not answer, whichever way the etcd version
// words it (etcd 3.4.23 answers code Unknown, "context deadline
// exceeded", which once read "etcd refused a read"); a read etcd did
// refuse says so.
func TestReadError_Sentences(t *testing.T) {
	const down, refused = "The etcd cluster did not answer", "etcd refused a read"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"the client's deadline", context.DeadlineExceeded, down},
		{"the client's deadline, wrapped", fmt.Errorf("get: %w", context.DeadlineExceeded), down},
		{"etcd 3.4's deadline, code Unknown", status.Error(codes.Unknown, "context deadline exceeded"), down},
		{"gRPC's DeadlineExceeded", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), down},
		{"no leader", rpctypes.ErrNoLeader, down},
		{"request timed out", rpctypes.ErrTimeout, down},
		{"permission denied", rpctypes.ErrPermissionDenied, refused},
		{"request too large", rpctypes.ErrRequestTooLarge, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := etcdstore.ReadError(tt.err)
			if msg := core.ErrorMessage(err); !strings.HasPrefix(msg, tt.want) {
				t.Errorf("readError(%v) says %q; want it to start %q", tt.err, msg, tt.want)
			}
			if core.ErrorCode(err) != core.CodeInternal {
				t.Errorf("readError(%v) has code %v; want CodeInternal", tt.err, core.ErrorCode(err))
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("readError(%v) = %v; want etcd's error kept as the cause", tt.err, err)
			}
			if gotDown := errors.Is(err, core.ErrStoreUnreachable); gotDown != (tt.want == down) {
				t.Errorf("readError(%v): ErrStoreUnreachable %v; want %v", tt.err, gotDown, tt.want == down)
			}
		})
	}
}
