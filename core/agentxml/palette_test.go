package agentxml_test

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestPalette_MatchesWebClient: the Provision URL, authenticator-app and
// refusal pages cannot link the web client's style sheet (the server may
// run without the web client, and one package does not reach into
// another's files), so templates/palette.html repeats its colours. A
// colour changed in one and not the other would give a phone's pages two
// colourings again; every custom property, light and dark, must match.
func TestPalette_MatchesWebClient(t *testing.T) {
	decl := regexp.MustCompile(`(--[a-z-]+):\s*(#[0-9a-fA-F]{3,8})`)
	props := func(path string) []string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1]+": "+m[2])
		}
		if len(out) < 20 {
			t.Fatalf("%s declares %d colours, want the light and dark palette", path, len(out))
		}
		return out
	}
	ours, theirs := props("templates/palette.html"), props("../webclient/static/app.css")
	if !slices.Equal(ours, theirs) {
		t.Errorf("templates/palette.html's colours differ from the web client's:\n ours   %q\n theirs %q", ours, theirs)
	}
}
