package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
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

	// hasLeader: the member answered and knows a Raft leader (a
	// member with a full database is unhealthy but still has one).
	hasLeader bool
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
			st.hasLeader = resp.Leader != 0
			st.Version = resp.Version
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SiteStatus is what the Server screen shows of an etcd site: its members,
// the Provisio servers that are up and the one leading the run-once work.
type SiteStatus struct {
	Members []MemberStatus
	// Problem is why the members could not be listed, one sentence.
	Problem string
	// Leader names the node leading the run-once work, "" when none is
	// elected or it is not known; LeaderProblem says why it is not known.
	Leader, LeaderProblem string
	// Servers names the nodes that are up, Leader first (Leader.Servers);
	// read with Leader, so LeaderProblem says why they are not known.
	Servers []string
}

// msgLeaderNoQuorum is why the leading node is not known when no member
// has a Raft leader: nobody can be elected then, and etcd cannot say who
// was.
const msgLeaderNoQuorum = "etcd has no quorum (most of its members are down or cannot reach each other), so no server can be elected"

// SiteStatus asks for the members' state (Status, each within timeout)
// and, at the same time, for the nodes that are up and the one that
// leads. When no member that
// answered has a Raft leader the cluster has no quorum: the lookup of the
// leader, a linearizable read, could only wait out its timeout, so it is
// not waited for and the status says why the leader is unknown.
func (l *Leader) SiteStatus(ctx context.Context, timeout time.Duration) SiteStatus {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		who []string
		err error
	}
	lead := make(chan answer, 1)
	go func() {
		// One read gives both: the candidates, the leader first.
		who, err := l.servers(lctx)
		lead <- answer{who, err}
	}()
	var st SiteStatus
	members, err := l.kv.Status(ctx, timeout)
	st.Members = members
	switch {
	case err != nil:
		st.Problem = err.Error()
		st.LeaderProblem = "no etcd member answered"
		return st
	case !hasQuorum(members):
		st.LeaderProblem = msgLeaderNoQuorum
		return st
	}
	a := <-lead
	switch {
	case a.err != nil && unavailable(a.err):
		st.LeaderProblem = fmt.Sprintf("etcd did not say within %s", seconds(timeout))
		return st
	case a.err != nil:
		st.LeaderProblem = "etcd refused to say"
		return st
	}
	st.Servers = a.who
	if len(a.who) > 0 {
		st.Leader = a.who[0]
	}
	return st
}

// hasQuorum reports whether a member that answered knows a Raft leader:
// a member without one says so in its status (memberProblem), and one that
// does not answer says nothing. A member cut off a moment ago may not have
// noticed yet; then the lookup of the leader says it timed out.
func hasQuorum(members []MemberStatus) bool {
	for _, m := range members {
		if m.hasLeader {
			return true
		}
	}
	return false
}

// seconds writes d for a sentence: "2 s", "1.5 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
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
