// Package locale settles the locale environment before Fyne reads it.
//
// Fyne's lang package looks up the user's locale while it initialises,
// which is before main runs, and logs "Fyne error: Error parsing user
// locale C" three times when LANG (or LC_ALL, LC_MESSAGES) is C.UTF-8 or
// POSIX.UTF-8, the default of many Debian systems and containers. That
// noise reached every command, headless ones included.
//
// Go initialises packages in import-path order among those whose imports
// are ready, and this package imports only os and strings, so importing
// it from main runs its init before fyne.io/fyne/v2/lang's, whose imports
// (text/template among them) wait behind it. The CLI test proves the
// order on the built program.
package locale

import (
	"os"
	"strings"
)

func init() { Settle(os.Getenv, os.Setenv) }

// Settle sets LANGUAGE=en when the effective locale is C or POSIX with a
// codeset (C.UTF-8): the locale library then reads English instead of
// failing on "C". Plain C, POSIX and an unset locale already read as
// English, and a LANGUAGE the user set is kept. LANGUAGE only names the
// language of messages; the C library ignores it under the C locale, so
// character handling is unchanged.
func Settle(getenv func(string) string, setenv func(string, string) error) {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(k)
		if v == "" {
			continue
		}
		name, _, _ := strings.Cut(v, ".")
		name, _, _ = strings.Cut(name, "@")
		if (name == "C" || name == "POSIX") && v != name && getenv("LANGUAGE") == "" {
			_ = setenv("LANGUAGE", "en")
		}
		return
	}
}
