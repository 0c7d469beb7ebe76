package webclient

// LimiterKeys returns the keys h's rate limiter tracks, for tests that
// check what a stranger's text can make it hold.
func LimiterKeys(h *Handler) []string {
	h.limits.mu.Lock()
	defer h.limits.mu.Unlock()
	keys := make([]string, 0, len(h.limits.m))
	for k := range h.limits.m {
		keys = append(keys, k)
	}
	return keys
}

// Settled waits until no self-service request of h is still committing
// after its answer, so a test can count its writes.
func Settled(h *Handler) { h.Wait() }
