package etcdstore

// CommitError is commitError, for a test to report what etcd reports when
// a commit's answer is lost.
var CommitError = commitError
