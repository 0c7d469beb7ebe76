package etcdstore

// CommitError is commitError, for a test to report what etcd reports when
// a commit's answer is lost.
var CommitError = commitError

// ReadError is readError, for a test to give it the errors etcd versions
// answer a read with.
var ReadError = readError
