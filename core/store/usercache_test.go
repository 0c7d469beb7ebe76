package store

import (
	"reflect"
	"testing"

	"provisio/core"
)

// fill sets every field reachable from v to a non-zero value, allocating
// every pointer and map, so that aliasing shows.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		v.SetUint(1)
	}
}

// shared reports the path of a reference in a that b shares.
func shared(path string, a, b reflect.Value) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(path, a.Elem(), b.Elem())
	case reflect.Map, reflect.Slice:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Struct:
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if p := shared(path+"."+f.Name, a.Field(i), b.Field(i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestCloneUser: the user cache hands out copies that share nothing with
// the cached user, for every reference field User has now or gains later.
func TestCloneUser(t *testing.T) {
	var u core.User
	fill(reflect.ValueOf(&u).Elem())
	c := cloneUser(u)
	if !reflect.DeepEqual(u, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", u, c)
	}
	if p := shared("User", reflect.ValueOf(u), reflect.ValueOf(c)); p != "" {
		t.Fatalf("%s is shared between the cached user and the copy: copy it in cloneUser", p)
	}
}

// TestUserCache_NeverStale: a user changed in any way reads back changed,
// and changing a returned copy does not change the next read.
func TestUserCache_NeverStale(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(u core.User) {
		t.Helper()
		if err := st.Update(func(tx core.Tx) error { return tx.PutUser(u) }); err != nil {
			t.Fatal(err)
		}
	}
	get := func() core.User {
		t.Helper()
		var u core.User
		if err := st.View(func(tx core.Tx) (err error) { u, err = tx.User("Alice"); return err }); err != nil {
			t.Fatal(err)
		}
		return u
	}
	put(core.User{Name: "alice", Email: "a@example.org", Attributes: map[string]string{"dept": "sales"}})
	for i, change := range []func(*core.User){
		func(u *core.User) { u.Email = "b@example.org" },
		func(u *core.User) { u.Attributes["dept"] = "it" },
		func(u *core.User) { u.Disabled = true },
		func(u *core.User) { u.DeviceCert = &core.DeviceCert{Serial: "7"} },
		func(u *core.User) { u.DeviceCert.Serial = "8" },
	} {
		u := get()
		change(&u)
		put(u)
		if got := get(); !reflect.DeepEqual(got, u) {
			t.Fatalf("change %d: read %+v, stored %+v", i, got, u)
		}
	}
	u := get()
	u.Attributes["dept"] = "changed in a copy only"
	u.DeviceCert.Serial = "changed in a copy only"
	if got := get(); got.Attributes["dept"] != "it" || got.DeviceCert.Serial != "8" {
		t.Fatalf("a change to a returned copy reached the cache: %+v", got)
	}
}
