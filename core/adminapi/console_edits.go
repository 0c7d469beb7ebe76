package adminapi

import (
	"encoding/json"
	"net/http"

	"provisio/core"
)

// The attached console's edits of profiles and agents: only what its
// form changed is sent, and the server applies it to the record as
// stored when the save's transaction runs (docs/decisions.md, "Two
// consoles editing the same record").

// ChangeProfile implements core.ConsoleAPI: only the JSON fields of the
// keys given are sent; PUT /v1/profiles/{name} merges them over the
// profile as stored at the save.
func (k *Console) ChangeProfile(name string, values map[string]string) error {
	patch, err := profilePatch(values)
	if err != nil {
		return err
	}
	return k.c.do(http.MethodPut, "/profiles/"+esc(name), patch, nil)
}

// profilePatch is the JSON fields of a profile that values set, each
// parsed by the profile's own rules (core.ClientPolicies.SetValues) and
// typed as the profile's JSON has it; a profile key is its JSON name.
func profilePatch(values map[string]string) (map[string]any, error) {
	var p core.ClientPolicies
	if err := p.SetValues(values); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(values))
	for key := range values {
		v, ok := all[key]
		if !ok {
			return nil, core.Errorf(core.CodeInternal, "The profile key %q has no field in the admin API, so nothing was saved.", key)
		}
		out[key] = v
	}
	return out, nil
}

// ChangeAgent implements core.ConsoleAPI with PATCH /v1/agents/{name}:
// only the fields of c are sent, and a secret only when it is a new one,
// never the mask the console was given in its place.
func (k *Console) ChangeAgent(name string, c core.AgentChange) error {
	if c.Secret != nil && (*c.Secret == "" || *c.Secret == core.SecretMask) {
		c.Secret = nil
	}
	defer k.stale()
	return k.c.do(http.MethodPatch, "/agents/"+esc(name), c, nil)
}
