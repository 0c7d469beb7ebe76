package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"provisio/core"
)

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeN(w, r, v, maxBody)
}

// decodeN is decode with a body limit of n bytes.
func decodeN(w http.ResponseWriter, r *http.Request, v any, n int64) bool {
	if err := decodeOne(http.MaxBytesReader(w, r.Body, n), v); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

// decodeStrict decodes the JSON object body onto v, refusing a field v
// does not have; an empty body changes nothing.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeOne(bytes.NewReader(body), v)
}

// decodeOne decodes the one JSON value in r onto v, refusing fields v
// does not have and anything after the value: a body such as
// `{"name":"carol"} {"name":"dave"}` was acted on for its first object
// and the rest dropped without a word. An empty body leaves v as it is.
func decodeOne(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); errors.Is(err, io.EOF) {
		return nil
	} else if err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bodyError(err)
		}
		return core.Errorf(core.CodeInvalid, "The request body has more after its JSON object; send one object.")
	}
	return nil
}

// bodyError says what is wrong with a request body in a sentence a
// scripter can act on, naming the field at fault (Error.Field and in the
// sentence) as the API spells it: encoding/json's own text names Go
// types and structs ("Go struct field AdminNewUser.name of type
// string"), which are no part of the API.
func bodyError(err error) error {
	var (
		ce  *core.Error
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ce):
		return ce // a type's own UnmarshalJSON said it already
	case errors.As(err, &mbe):
		return core.Errorf(core.CodeInvalid, "The request body is over %s, more than any request of this API needs.", sizeText(mbe.Limit))
	case errors.As(err, &ute):
		want, got := jsonKind(ute.Type), jsonValue(ute.Value)
		if f := apiField(ute.Field); f != "" {
			return core.FieldError(f, "The field %q must be %s, not %s.", f, want, got)
		}
		return core.Errorf(core.CodeInvalid, "The request body must be a JSON object, not %s.", got)
	case errors.As(err, &se):
		return core.Errorf(core.CodeInvalid, "The request body is not valid JSON: %s, at byte %d.", se.Error(), se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return core.Errorf(core.CodeInvalid, "The request body ends before its JSON object does; send the whole object.")
	}
	// DisallowUnknownFields has no error type of its own.
	if q, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, uerr := strconv.Unquote(q); uerr == nil {
			return core.FieldError(f, "This request has no field %q; remove it, or check its spelling.", f)
		}
	}
	return core.Errorf(core.CodeInvalid, "The request body is not valid JSON for this request: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

// apiField is the JSON path of a field as the API names it. encoding/json
// puts the Go name of an embedded struct in the path
// ("ClientPolicies.pin_cache_timeout" for a profile's value); every name
// of this API is lower case, so a segment starting with a capital is
// such a Go name and is left out.
func apiField(path string) string {
	var keep []string
	for _, seg := range strings.Split(path, ".") {
		if seg == "" || unicode.IsUpper(rune(seg[0])) {
			continue
		}
		keep = append(keep, seg)
	}
	return strings.Join(keep, ".")
}

// jsonKind says what JSON a Go type takes.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another kind of value"
}

// jsonValue says what JSON was sent, from UnmarshalTypeError.Value
// ("string", "number", "number 1.5", "bool", "array", "object").
func jsonValue(v string) string {
	switch v {
	case "string":
		return "text"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	if n, ok := strings.CutPrefix(v, "number "); ok {
		return n
	}
	return v
}

// sizeText is a body limit for a person: 64 KiB, 1 MiB.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
