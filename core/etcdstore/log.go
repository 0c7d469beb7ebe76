package etcdstore

import "go.uber.org/zap"

// quietLogger keeps the etcd client's own logging (reconnects, balancer
// chatter) off the terminal; failures reach the caller as errors.
func quietLogger() *zap.Logger { return zap.NewNop() }
