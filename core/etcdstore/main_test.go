package etcdstore_test

import (
	"os"
	"testing"
)

// tempRoot holds the shared cluster's data; removed after the tests.
var tempRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdstore-test-")
	if err != nil {
		panic(err)
	}
	tempRoot = dir
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}
