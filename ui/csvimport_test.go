package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/store/storetest"
)

// openCSV writes data to a file and imports it with the Import CSV…
// button, as an admin would.
func (h *harness) openCSV(name, data string) *csvImport {
	h.t.Helper()
	h.open = filepath.Join(h.t.TempDir(), name)
	if err := os.WriteFile(h.open, []byte(data), 0o600); err != nil {
		h.t.Fatal(err)
	}
	s := h.c.users
	test.Tap(s.importCSV)
	if s.importer == nil {
		h.t.Fatal("Import CSV… opened nothing")
	}
	ci := s.importer
	h.waitFor("the file checked", func() bool { return !ci.running })
	return ci
}

func TestCSVImport_ProblemsBlockTheImport(t *testing.T) {
	h := newHarness(t)
	ci := h.openCSV("new-starters.csv", sampleCSV)
	if got, want := ci.summary.Text, "new-starters.csv: 2 rows of 5 cannot be imported."; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if !ci.importBtn.Disabled() {
		t.Error("Import enabled with problems in the file")
	}
	var problems []string
	for _, p := range ci.pre.Problems {
		problems = append(problems, problemText(p))
	}
	want := []string{
		`Line 4: "judy-at-example.org" is not an email address like name@example.org.`,
		"Line 5: A PIN is 4 to 10 digits.",
	}
	if strings.Join(problems, "|") != strings.Join(want, "|") || !ci.probBox.Visible() {
		t.Errorf("problems %q", problems)
	}
	if len(ci.pre.Rows) != 5 || ci.rows.Length() != 5 {
		t.Errorf("preview shows %d rows", ci.rows.Length())
	}
	// Enter does not import a file with problems either.
	h.c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if users, _ := h.svc.Users(); len(users) != 0 {
		t.Errorf("%d users imported", len(users))
	}
	test.Tap(ci.cancel)
	if h.c.users.importer != nil {
		t.Error("dialog still open after Cancel")
	}
}

func TestCSVImport_ImportsEveryRow(t *testing.T) {
	h := newHarness(t)
	fixed := strings.NewReplacer("judy-at-example.org", "judy@example.org", ",12\n", ",2468\n").Replace(sampleCSV)
	ci := h.openCSV("new-starters.csv", fixed)
	if ci.summary.Text != "new-starters.csv: 5 users ready to import." || ci.importBtn.Disabled() || ci.importBtn.Text != "Import 5 users" {
		t.Fatalf("summary %q, button %q", ci.summary.Text, ci.importBtn.Text)
	}
	test.Tap(ci.importBtn)
	if !ci.running || !ci.progress.Visible() || !ci.cancel.Disabled() {
		t.Error("no progress shown while importing")
	}
	h.waitFor("import finished", func() bool { return h.c.users.importer == nil })
	if got := strings.Join(shownNames(h.c.users), ","); got != "hannah,ivan,judy,karl,lena" {
		t.Errorf("list shows %s", got)
	}
	if ci.progress.Value != 1 {
		t.Errorf("progress ended at %v", ci.progress.Value)
	}
	top := h.win.Canvas().Overlays().Top()
	if !contains(visibleTexts(top), "Imported 5 users from new-starters.csv.") {
		t.Errorf("finish message %q", visibleTexts(top))
	}
	if u, _ := h.svc.User("karl"); u.PIN != "2468" || u.Group != "support" || !u.MobileAllowed {
		t.Errorf("karl %+v", u)
	}
}

// A user added elsewhere between the preview and the import makes the
// whole import fail, and nothing is half-imported.
func TestCSVImport_AllOrNothing(t *testing.T) {
	h := newHarness(t)
	ci := h.openCSV("staff.csv", "username,email\nmia,mia@example.org\nned,ned@example.org\n")
	storetest.MustAddUser(t, h.svc, "ned", "1357") // the CLI or an agent
	test.Tap(ci.importBtn)
	h.waitFor("import refused", func() bool { return !ci.running })
	if want := `Nothing was imported: line 3: A user called "ned" already exists.`; ci.summary.Text != want {
		t.Errorf("summary %q, want %q", ci.summary.Text, want)
	}
	if _, err := h.svc.User("mia"); core.ErrorCode(err) != core.CodeNotFound {
		t.Error("mia was imported from a failed import")
	}
	if ci.importBtn.Text != "Check again" {
		t.Errorf("button %q", ci.importBtn.Text)
	}
	test.Tap(ci.importBtn)
	h.waitFor("checked again", func() bool { return !ci.running && ci.importBtn.Text == "Import" })
	if want := `Line 3: A user called "ned" already exists.`; len(ci.pre.Problems) != 1 || problemText(ci.pre.Problems[0]) != want {
		t.Errorf("problems %v", ci.pre.Problems)
	}
}

func TestCSVImport_UnusableFile(t *testing.T) {
	h := newHarness(t)
	ci := h.openCSV("notes.csv", "name;mail\nann;ann@example.org\n")
	want := `The header names an unknown column "name;mail"; the columns are username, full_name, email, mobile, group, pin.`
	if ci.summary.Text != want || !ci.importBtn.Disabled() {
		t.Errorf("summary %q", ci.summary.Text)
	}
}

// A row saved in another character set is told, with its line, to save
// the file as CSV UTF-8, not to type it again in a terminal.
func TestCSVImport_Latin1RowSaysSaveTheFile(t *testing.T) {
	h := newHarness(t)
	ci := h.openCSV("staff.csv", "username,full_name\nann,Ann\nbob,J\xfcrgen\n")
	want := `Line 3: The full name is not UTF-8 text; save the file from the spreadsheet as "CSV UTF-8 (comma delimited)" and import it again.`
	if len(ci.pre.Problems) != 1 || problemText(ci.pre.Problems[0]) != want || !ci.importBtn.Disabled() {
		t.Errorf("problems %v, want %q", ci.pre.Problems, want)
	}
}

// Counts in the thousands are written with separators, "1,200 users",
// from the preview to the finish message. Before, "1200 users ready to
// import".
func TestCSVImport_CountsGroupThousands(t *testing.T) {
	h := newHarness(t)
	var b strings.Builder
	b.WriteString("username,email\n")
	for i := range 1200 {
		fmt.Fprintf(&b, "user%04d,user%04d@example.org\n", i, i)
	}
	good := b.String()
	ci := h.openCSV("bad.csv", good+"x1,not-an-address\nx2,nor-this\n")
	if want := "bad.csv: 2 rows of 1,202 cannot be imported."; ci.summary.Text != want {
		t.Errorf("summary %q, want %q", ci.summary.Text, want)
	}
	test.Tap(ci.cancel)
	ci = h.openCSV("staff.csv", good)
	if ci.summary.Text != "staff.csv: 1,200 users ready to import." || ci.importBtn.Text != "Import 1,200 users" {
		t.Fatalf("summary %q, button %q", ci.summary.Text, ci.importBtn.Text)
	}
	test.Tap(ci.importBtn)
	if want := "Importing 1,200 users…"; ci.summary.Text != want {
		t.Errorf("while importing %q, want %q", ci.summary.Text, want)
	}
	h.waitFor("import finished", func() bool { return h.c.users.importer == nil })
	top := h.win.Canvas().Overlays().Top()
	if !contains(visibleTexts(top), "Imported 1,200 users from staff.csv.") {
		t.Errorf("finish message %q", visibleTexts(top))
	}
}
