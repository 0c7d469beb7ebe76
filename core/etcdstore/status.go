package etcdstore

import (
	"context"
	"sort"
	"strings"
	"time"
)

// MemberStatus is one etcd member as the Server screen shows it.
type MemberStatus struct {
	Name     string
	Endpoint string // first client URL
	Healthy  bool
	Problem  string // why not healthy, one sentence
	Leader   bool   // leads Raft
	Version  string // etcd server version
}

// Status asks every member of the cluster for its state, each within
// timeout.
func (kv *KV) Status(ctx context.Context, timeout time.Duration) ([]MemberStatus, error) {
	mctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ml, err := kv.cli.MemberList(mctx)
	if err != nil {
		return nil, err
	}
	var out []MemberStatus
	for _, m := range ml.Members {
		st := MemberStatus{Name: m.Name}
		if len(m.ClientURLs) > 0 {
			st.Endpoint = m.ClientURLs[0]
		}
		if st.Endpoint == "" {
			st.Problem = "it has not started yet"
			out = append(out, st)
			continue
		}
		sctx, scancel := context.WithTimeout(ctx, timeout)
		resp, err := kv.cli.Status(sctx, strings.TrimPrefix(strings.TrimPrefix(st.Endpoint, "http://"), "https://"))
		scancel()
		if err != nil {
			st.Problem = "it does not answer"
		} else {
			st.Healthy = len(resp.Errors) == 0
			if !st.Healthy {
				st.Problem = strings.Join(resp.Errors, "; ")
			}
			st.Leader = resp.Leader == resp.Header.MemberId
			st.Version = resp.Version
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
