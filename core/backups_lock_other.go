//go:build !unix

package core

import "os"

// holdWhileWriting does nothing here: without flock a writer's liveness
// cannot be told, so removeIfAbandoned never removes anything.
func holdWhileWriting(*os.File) {}

// removeIfAbandoned removes nothing where liveness cannot be told.
func removeIfAbandoned(string) (bool, error) { return false, nil }
