package adminapi

import (
	"encoding/json"
	"net/http"
	"reflect"

	"provisio/core"
)

// The attached console's settings: read from the service, changed key by key.

// Settings implements core.ConsoleAPI; the SMTP password is masked
// (core.SecretMask) and kept by the server when given back so.
func (k *Console) Settings() core.Settings {
	k.mu.Lock()
	if k.fresh {
		defer k.mu.Unlock()
		return k.set
	}
	gen := k.gen
	k.mu.Unlock()
	var set core.Settings
	err := k.c.do(http.MethodGet, "/config", nil, &set)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		return k.set
	}
	k.set, k.setOK, k.fresh = set, true, gen == k.gen
	return set
}

// SetSettings implements core.ConsoleAPI. It refuses to save when the
// settings were never read, so a failed read cannot wipe the server's.
func (k *Console) SetSettings(set core.Settings, what string) error {
	k.mu.Lock()
	ok := k.setOK
	k.mu.Unlock()
	if !ok {
		return core.Errorf(core.CodeInternal, "The settings could not be read from the service, so they are not saved; try again.")
	}
	// What only the server writes is its own (Settings.BackupState).
	var saved core.Settings
	defer k.stale()
	return k.c.do(http.MethodPut, "/config", map[string]any{"settings": set, "what": what}, &saved)
}

// SetSetting implements core.ConsoleAPI.
func (k *Console) SetSetting(key, value string) error {
	defer k.stale()
	_, err := k.c.SetSetting(key, value)
	return err
}

// ChangeSettings implements core.ConsoleAPI: the keys are set on the
// settings as the server holds them now (read fresh, not from the
// cache), and only the JSON fields that changed are sent; PUT /v1/config
// merges them over the stored settings, so a setting someone else saved
// meanwhile, and not in values, stays as they saved it.
func (k *Console) ChangeSettings(values map[string]string, what string) error {
	var cur core.Settings
	if err := k.c.do(http.MethodGet, "/config", nil, &cur); err != nil {
		return err
	}
	next := cur
	if err := next.SetValues(values); err != nil {
		return err
	}
	patch, err := settingsPatch(cur, next)
	if err != nil || len(patch) == 0 {
		return err // the server holds these values already
	}
	defer k.stale()
	return k.c.do(http.MethodPut, "/config", map[string]any{"settings": patch, "what": what}, nil)
}

// settingsPatch is the JSON fields of after that differ from before,
// objects field by field, as PUT /v1/config merges them.
func settingsPatch(before, after core.Settings) (map[string]any, error) {
	var a, b map[string]any
	for _, x := range []struct {
		set core.Settings
		m   *map[string]any
	}{{before, &a}, {after, &b}} {
		data, err := json.Marshal(x.set)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, x.m); err != nil {
			return nil, err
		}
	}
	return jsonDiff(a, b), nil
}

// jsonDiff is what turns the decoded JSON object a into b. A field b
// leaves out (omitempty: a cleared certificate path or pin) is sent as
// its zero value, which is what leaving it out means.
func jsonDiff(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for key, bv := range b {
		av, ok := a[key]
		am, aObj := av.(map[string]any)
		bm, bObj := bv.(map[string]any)
		switch {
		case aObj && bObj:
			if d := jsonDiff(am, bm); len(d) > 0 {
				out[key] = d
			}
		case !ok || !reflect.DeepEqual(av, bv):
			out[key] = bv
		}
	}
	for key, av := range a {
		if _, ok := b[key]; !ok {
			switch av.(type) {
			case string:
				out[key] = ""
			case float64:
				out[key] = 0
			case bool:
				out[key] = false
			default:
				out[key] = nil
			}
		}
	}
	return out
}
