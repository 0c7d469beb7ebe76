//go:build !unix

package core

import "os"

// HoldWhileWriting does nothing here: without flock a writer's liveness
// cannot be told, so RemoveIfAbandoned never removes anything.
func HoldWhileWriting(*os.File) {}

// RemoveIfAbandoned removes nothing where liveness cannot be told.
func RemoveIfAbandoned(string) (bool, error) { return false, nil }
