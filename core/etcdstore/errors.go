package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"provisio/core"
	"provisio/core/store"
)

// The sentences a person reads when etcd fails a request (the console, the
// command line, a phone's page through the web client's own wording, the
// audit log with the detail after them). etcd's own text ("context
// deadline exceeded", "etcdserver: request timed out") is kept as the
// cause, never shown alone.
const (
	// msgReadDown: a read failed, so nothing was changed.
	msgReadDown = "The etcd cluster did not answer (are most of its members running and reachable?); nothing was changed."
	// msgCommitDown: a commit failed without an answer (or with one that
	// does not say it was refused). etcd may still apply it once it has a
	// quorum again, so it is not said to be lost.
	msgCommitDown   = "The etcd cluster did not confirm the change (are most of its members running and reachable?); it may not have been saved, check before repeating it."
	msgReadFailed   = "etcd refused a read; nothing was changed."
	msgCommitFailed = "etcd refused the change; nothing was saved."
	// msgSessionLeaseGone: etcd refused a session's key twice because the
	// lease named was gone, the second a lease granted just before. etcd
	// checks the lease before it writes, so nothing was saved; the
	// session id was never handed out, so there is nothing to check.
	msgSessionLeaseGone = "etcd refused to keep the new session: the lease it was to expire with was gone twice in a row " +
		"(is something revoking leases in the etcd cluster?). The session was not saved; the agent can start another one."
)

// unavailable reports whether err says the cluster could not answer: no
// quorum, no leader, no member reachable, or the request timeout ran out.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch err {
	case rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrTimeoutDueToConnectionLost,
		rpctypes.ErrNoLeader, rpctypes.ErrNotCapable, rpctypes.ErrStopped, rpctypes.ErrLeaderChanged,
		rpctypes.ErrTimeoutWaitAppliedIndex:
		return true
	}
	// A member stopping under a request answers with gRPC's Unknown
	// code and Raft's own text. etcd 3.4 (Debian's etcd-server) answers
	// a read it could not serve before the request's deadline (no
	// quorum) with code Unknown and "context deadline exceeded", which
	// the client does not turn back into context.DeadlineExceeded.
	msg := err.Error()
	for _, s := range []string{"raft: stopped", "server stopped", "no leader", "timed out", "connection refused", "deadline exceeded"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// refusedCommit reports whether err is a refusal etcd gives before a
// change is proposed (so it cannot have been saved).
func refusedCommit(err error) bool {
	switch err {
	case rpctypes.ErrTooManyOps, rpctypes.ErrRequestTooLarge, rpctypes.ErrPermissionDenied,
		rpctypes.ErrDuplicateKey, rpctypes.ErrUserEmpty, rpctypes.ErrAuthNotEnabled, rpctypes.ErrInvalidAuthToken:
		return true
	}
	return false
}

// readError wraps a failed read in a sentence (core.CodeInternal, so every
// front end treats it as the store's failure, not a refusal).
func readError(err error) error {
	if unavailable(err) {
		return &core.Error{Code: core.CodeInternal, Message: msgReadDown, Err: fmt.Errorf("read from etcd: %w (%w)", err, core.ErrStoreUnreachable)}
	}
	return &core.Error{Code: core.CodeInternal, Message: msgReadFailed, Err: fmt.Errorf("read from etcd: %w", err)}
}

// commitError wraps a failed commit in a sentence.
func commitError(err error) error {
	if refusedCommit(err) {
		return &core.Error{Code: core.CodeInternal, Message: msgCommitFailed, Err: fmt.Errorf("commit to etcd: %w", err)}
	}
	cause := fmt.Errorf("commit to etcd: %w (%w)", err, store.ErrOutcomeUnknown)
	if unavailable(err) {
		cause = fmt.Errorf("commit to etcd: %w (%w; %w)", err, store.ErrOutcomeUnknown, core.ErrStoreUnreachable)
	}
	return &core.Error{Code: core.CodeInternal, Message: msgCommitDown, Err: cause}
}

// leaseGoneError is the error of a session etcd refused for want of its
// lease, on a fresh lease too (sessionTable.Add).
func leaseGoneError(err error) error {
	return &core.Error{Code: core.CodeInternal, Message: msgSessionLeaseGone, Err: fmt.Errorf("commit to etcd: %w", err)}
}
