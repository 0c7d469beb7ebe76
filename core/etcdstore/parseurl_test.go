package etcdstore_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"provisio/core/etcdstore"
)

// TestParseURL: the store address as people write it (README "When to use
// etcd"), and a sentence for each mistake.
func TestParseURL(t *testing.T) {
	tests := []struct {
		raw       string
		endpoints []string
		site      string
		maxOps    int
		timeout   time.Duration
		wantErr   string // a part of the sentence; "" accepted
	}{
		{raw: "etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379", endpoints: []string{"10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"}},
		{raw: "etcd://a,b", endpoints: []string{"a:2379", "b:2379"}},
		{raw: "etcd://a:2379/office", endpoints: []string{"a:2379"}, site: "office"},
		{raw: "etcd://a:2379/office/", endpoints: []string{"a:2379"}, site: "office"},
		{raw: "etcd://a:2379?max-txn-ops=1024", endpoints: []string{"a:2379"}, maxOps: 1024},
		{raw: "etcd://a:2379/office?request-timeout=3s&max-txn-ops=64", endpoints: []string{"a:2379"}, site: "office", maxOps: 64, timeout: 3 * time.Second},
		{raw: "etcd://a:2379?request-timeout=100ms", endpoints: []string{"a:2379"}, timeout: 100 * time.Millisecond},
		{raw: "etcd://a:2379?request-timeout=5m", endpoints: []string{"a:2379"}, timeout: 5 * time.Minute},
		{raw: "http://a:2379", wantErr: "is not an etcd:// address"},
		{raw: "etcd://", wantErr: "names no etcd member"},
		{raw: "etcd://,,", wantErr: "names no etcd member"},
		{raw: "etcd://a/two/words", wantErr: "must be one word without slashes or spaces"},
		{raw: "etcd://a?max-txn-ops=0", wantErr: "is not a positive number"},
		{raw: "etcd://a?max-txn-ops=many", wantErr: "is not a positive number"},
		{raw: "etcd://a?request-timeout=3", wantErr: "is not a duration between 100ms and 5m"},
		{raw: "etcd://a?request-timeout=10ms", wantErr: "is not a duration between 100ms and 5m"},
		{raw: "etcd://a?request-timeout=1h", wantErr: "is not a duration between 100ms and 5m"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c, err := etcdstore.ParseURL(tt.raw, "", "", "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Endpoints, tt.endpoints) || c.Site != tt.site || c.MaxTxnOps != tt.maxOps || c.RequestTimeout != tt.timeout {
				t.Fatalf("got endpoints %q site %q max-txn-ops %d timeout %v", c.Endpoints, c.Site, c.MaxTxnOps, c.RequestTimeout)
			}
		})
	}
}

// TestParseURL_RefusesUserInfo: etcd authenticates Provisio by its client
// certificate; a user name or password in the store address is never
// sent. It is refused, and the refusal does not repeat it: the sentence
// reaches a terminal, the console's error dialog and a service's
// journal.
func TestParseURL_RefusesUserInfo(t *testing.T) {
	for _, raw := range []string{
		"etcd://root:s3cret@10.0.0.1:2379/office",
		"etcd://10.0.0.1:2379,root:s3cret@10.0.0.2:2379",
		"etcd://root:s3cret@10.0.0.1:2379/office?request-timeout=1h",
		"https://root:s3cret@10.0.0.1:2379/office",
	} {
		_, err := etcdstore.ParseURL(raw, "", "", "")
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the refusal repeats the password: %v", raw, err)
		}
	}
}
