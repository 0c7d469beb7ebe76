package etcdstore

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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

// errNoMemberAnswers is Status's error when no member could even list the
// cluster's members.
var errNoMemberAnswers = errors.New("no etcd member answered (are they running and reachable?)")

// Status asks every member of the cluster for its state, each within
// timeout, all at once. The member list is read from whichever member
// answers (serializable): a linearizable list fails without a quorum,
// which is when an administrator most needs to see which members are
// down.
func (kv *KV) Status(ctx context.Context, timeout time.Duration) ([]MemberStatus, error) {
	mctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ml, err := kv.cli.MemberList(mctx, clientv3.WithSerializable())
	if err != nil {
		return nil, errNoMemberAnswers
	}
	out := make([]MemberStatus, len(ml.Members))
	var wg sync.WaitGroup
	for i, m := range ml.Members {
		st := &out[i]
		st.Name = m.Name
		if len(m.ClientURLs) > 0 {
			st.Endpoint = m.ClientURLs[0]
		}
		if st.Endpoint == "" {
			st.Problem = "it has not started yet"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, scancel := context.WithTimeout(ctx, timeout)
			defer scancel()
			resp, err := kv.cli.Status(sctx, strings.TrimPrefix(strings.TrimPrefix(st.Endpoint, "http://"), "https://"))
			if err != nil {
				st.Problem = "it does not answer"
				return
			}
			st.Healthy = len(resp.Errors) == 0
			if !st.Healthy {
				st.Problem = memberProblem(resp.Errors)
			}
			st.Leader = resp.Leader == resp.Header.MemberId
			st.Version = resp.Version
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// memberProblem says in a sentence what a member's status reports; etcd's
// own text only for what it has no sentence for.
func memberProblem(errs []string) string {
	all := strings.Join(errs, "; ")
	switch {
	case strings.Contains(all, "no leader"):
		return "it runs but has no Raft leader: most members are down or cannot reach each other"
	case strings.Contains(all, "space exceeded"), strings.Contains(all, "NOSPACE"):
		return "its database is full (etcd's space quota): compact and defragment it, then disarm the alarm"
	}
	return "it reports a problem: " + all
}
