package core_test

import (
	"fmt"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestService_PreviewImport(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "zoe", "1357")
	csv := "\ufeffusername,full_name,email,mobile,group,pin\n" +
		"alice,Alice Liddell,alice@example.org,+44 20 7946 0001,sales,2468\n" +
		"bob,,bob-at-example,,,\n" + // line 3: bad email
		"carol,\"Carol, Jr.\",,,,12\n" + // line 4: PIN too short
		"Alice,Again,,,,\n" + // line 5: repeated in the file
		"zoe,,,,,\n" + // line 6: exists
		",,,,,\n" + // blank: skipped
		"dan,Dan\n" + // line 8: short row
		"erin,,erin@example.org,,,\n"
	p, err := svc.PreviewImport(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 6 || p.BadRows != 5 || p.OK() {
		t.Errorf("rows %d, bad %d, ok %v; want 6 rows read, 5 bad", len(p.Rows), p.BadRows, p.OK())
	}
	want := []core.ImportProblem{
		{3, "email", `"bob-at-example" is not an email address like name@example.org.`},
		{4, "pin", "A PIN is 4 to 10 digits."},
		{5, "name", `The username "Alice" is also on line 2.`},
		{6, "name", `A user called "zoe" already exists.`},
		{8, "", "This row has 2 columns; the header has 6."},
	}
	if fmt.Sprint(p.Problems) != fmt.Sprint(want) {
		t.Errorf("problems\n%v\nwant\n%v", p.Problems, want)
	}
	a := p.Rows[0]
	if a.Line != 2 || a.User.Name != "alice" || a.User.FullName != "Alice Liddell" || a.User.Mobile != "+44 20 7946 0001" ||
		a.User.Group != "sales" || a.User.PIN != "2468" || !a.User.MobileAllowed {
		t.Errorf("first row %+v", a)
	}
	if _, err := svc.User("alice"); core.ErrorCode(err) != core.CodeNotFound {
		t.Error("preview saved a user")
	}
}

func TestService_PreviewImportRefusesFile(t *testing.T) {
	svc := storetest.MustService(t)
	for in, want := range map[string]string{
		"":                        "The file is empty; it needs a header row: username,full_name,email,mobile,group,pin.",
		"name,email\nalice,a@b.c": `The header names an unknown column "name"; the columns are username, full_name, email, mobile, group, pin.`,
		"email,pin\n":             "The header has no username column; the columns are username, full_name, email, mobile, group, pin.",
		"username,username\n":     `The header names the column "username" twice.`,
	} {
		_, err := svc.PreviewImport(strings.NewReader(in))
		if got := core.ErrorMessage(err); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestService_ImportUsersAllOrNothing(t *testing.T) {
	svc := storetest.MustService(t)
	p, err := svc.PreviewImport(strings.NewReader("username,email\nann,ann@example.org\nben,\ncat,\n"))
	if err != nil || !p.OK() {
		t.Fatalf("preview %+v, %v", p, err)
	}
	// Someone adds "cat" between the preview and the import.
	storetest.MustAddUser(t, svc, "cat", "1357")
	n, err := svc.ImportUsers(p.Rows, nil)
	if want := `Nothing was imported: line 4: A user called "cat" already exists.`; core.ErrorMessage(err) != want || n != 0 {
		t.Errorf("import: %d, %q; want %q", n, core.ErrorMessage(err), want)
	}
	users, _ := svc.Users()
	if len(users) != 1 {
		t.Errorf("half an import: %d users", len(users))
	}

	var calls [][2]int
	n, err = svc.ImportUsers(p.Rows[:2], func(done, total int) { calls = append(calls, [2]int{done, total}) })
	if err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int{2, 2} {
		t.Errorf("progress calls %v", calls)
	}
	if u, err := svc.User("ben"); err != nil || !u.MobileAllowed || u.Created.IsZero() {
		t.Errorf("ben: %+v, %v", u, err)
	}
	if !logHas(t, svc, `User "ann" added by import.`, "the console") || !logHas(t, svc, "Imported 2 users.", "the console") {
		t.Error("import not logged")
	}
}

func TestService_ImportUsers10000(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	svc := storetest.MustService(t)
	var b strings.Builder
	b.WriteString("username,full_name,email,mobile,group,pin\n")
	for i := range 10_000 {
		fmt.Fprintf(&b, "user%05d,User %d,user%05d@example.org,+44 20 7946 %04d,staff,%04d\n", i, i, i, i%10000, 1000+i%9000)
	}
	p, err := svc.PreviewImport(strings.NewReader(b.String()))
	if err != nil || !p.OK() {
		t.Fatalf("preview: %v, %v", p.Problems, err)
	}
	if n, err := svc.ImportUsers(p.Rows, nil); err != nil || n != 10_000 {
		t.Fatalf("import: %d, %v", n, err)
	}
	users, _ := svc.Users()
	if len(users) != 10_000 {
		t.Errorf("%d users", len(users))
	}
	if !logHas(t, svc, "Imported 10,000 users.", "the console") {
		t.Error(`no "Imported 10,000 users." in the log`)
	}
}

// TestService_PreviewImportForeignFiles: files a spreadsheet saves in
// another form than CSV UTF-8 with commas get a sentence saying how to
// save them, and rows in another character set are row problems, never
// names imported with their bytes changed. Before, a UTF-16 file was
// refused with `unknown column "\xff\xfeu\x00s\x00…"`, a Latin-1 row was
// imported as it was (its name later came out changed through JSON, and
// its audit line broke the log's chain).
func TestService_PreviewImportForeignFiles(t *testing.T) {
	svc := storetest.MustService(t)
	for in, want := range map[string]string{
		"\xff\xfeu\x00s\x00e\x00r\x00n\x00a\x00m\x00e\x00\n\x00a\x00\n\x00": `The file is UTF-16 text ("Unicode text"); save it from the spreadsheet as "CSV UTF-8 (comma delimited)" and import that.`,
		"\xfe\xff\x00u\x00s\x00e\x00r\x00n\x00a\x00m\x00e\x00\n":            `The file is UTF-16 text ("Unicode text"); save it from the spreadsheet as "CSV UTF-8 (comma delimited)" and import that.`,
		"username;full_name\nalice;Alice\n":                                 `The columns of the file are separated by semicolons; save it from the spreadsheet as "CSV UTF-8 (comma delimited)", with commas, and import that.`,
		"username\tfull_name\nalice\tAlice\n":                               `The columns of the file are separated by tabs; save it from the spreadsheet as "CSV UTF-8 (comma delimited)", with commas, and import that.`,
		"username,gr\xfcppe\nalice,x\n":                                     `The file is not UTF-8 text; save it from the spreadsheet as "CSV UTF-8 (comma delimited)" and import that.`,
	} {
		_, err := svc.PreviewImport(strings.NewReader(in))
		if got := core.ErrorMessage(err); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	p, err := svc.PreviewImport(strings.NewReader("username,full_name,group\nm\xfcller,,\nbob,J\xfcrgen,\ncarol,,Verk\xe4ufer\ndan,Dan,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.BadRows != 3 || p.OK() {
		t.Fatalf("bad rows %d (%v); want the three Latin-1 rows refused", p.BadRows, p.Problems)
	}
	for i, field := range []string{"name", "full_name", "group"} {
		if pr := p.Problems[i]; pr.Line != i+2 || pr.Field != field || !strings.Contains(pr.Message, "not UTF-8 text") {
			t.Errorf("problem %d: %+v; want line %d, field %s, not UTF-8", i, pr, i+2, field)
		}
	}
}

// TestService_PreviewImportLatin1RowSaysSaveTheFile: a row of a file
// saved in another character set than UTF-8 is told, on its line, to
// save the file as CSV UTF-8 and import it again. Before, it was told to
// "type it again in a UTF-8 terminal", the sentence of the CLI's user
// add, which keeps it.
func TestService_PreviewImportLatin1RowSaysSaveTheFile(t *testing.T) {
	svc := storetest.MustService(t)
	p, err := svc.PreviewImport(strings.NewReader("username,full_name,group\nann,Ann,\nm\xfcller,,\nbob,J\xfcrgen,\ncarol,,Verk\xe4ufer\n"))
	if err != nil {
		t.Fatal(err)
	}
	const save = ` is not UTF-8 text; save the file from the spreadsheet as "CSV UTF-8 (comma delimited)" and import it again.`
	want := []core.ImportProblem{
		{Line: 3, Field: "name", Message: "The username" + save},
		{Line: 4, Field: "full_name", Message: "The full name" + save},
		{Line: 5, Field: "group", Message: "The group" + save},
	}
	if fmt.Sprint(p.Problems) != fmt.Sprint(want) || p.BadRows != 3 {
		t.Errorf("problems %+v (%d bad rows), want %+v", p.Problems, p.BadRows, want)
	}
	// The import checks the rows again, with the same sentence.
	_, err = svc.ImportUsers(p.Rows, nil)
	if got, want := core.ErrorMessage(err), "Nothing was imported: line 3: The username"+save; got != want {
		t.Errorf("import: %q, want %q", got, want)
	}
	// A name typed in a terminal keeps the terminal's sentence.
	_, err = svc.AddUser(core.User{Name: "bob", FullName: "J\xfcrgen"})
	if got := core.ErrorMessage(err); !strings.Contains(got, "type it again in a UTF-8 terminal") {
		t.Errorf("user add: %q", got)
	}
}

// TestService_ImportLogNamesActor: an import through the admin API (an
// attached or remote console) names that operator in the audit log, as
// the console's own import names the console: in the lines' Actor, which
// the messages no longer repeat ("… from console "desk-2" (admin).").
func TestService_ImportLogNamesActor(t *testing.T) {
	svc := storetest.MustService(t)
	op := svc.As(core.OperatorActor(`console "desk-2" (admin)`))
	p, err := op.PreviewImport(strings.NewReader("username\nann\nben\n"))
	if err != nil || !p.OK() {
		t.Fatalf("preview: %+v, %v", p, err)
	}
	if n, err := op.ImportUsers(p.Rows, nil); err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	for _, want := range []string{`User "ann" added by import.`, `Imported 2 users.`} {
		if !logHas(t, svc, want, `console "desk-2" (admin)`) {
			t.Errorf("the log has no line %q by console \"desk-2\" (admin)", want)
		}
	}
}

// TestService_PreviewImportSemicolonsUnknownColumns: a header with
// semicolons whose parts are not all columns is an unknown column, as
// before; only a file that would be right with commas is told to use
// them.
func TestService_PreviewImportSemicolonsUnknownColumns(t *testing.T) {
	svc := storetest.MustService(t)
	_, err := svc.PreviewImport(strings.NewReader("name;mail\nann;ann@example.org\n"))
	if want := `The header names an unknown column "name;mail"; the columns are username, full_name, email, mobile, group, pin.`; core.ErrorMessage(err) != want {
		t.Errorf("%q, want %q", core.ErrorMessage(err), want)
	}
}

// TestService_ImportUsersRefusesMoreThanAPreviewPasses: ImportUsers takes
// at most MaxImportRows rows, the most PreviewImport passes; more were
// written in one transaction (the admin API's POST /v1/import could send
// millions) and no preview cap held.
func TestService_ImportUsersRefusesMoreThanAPreviewPasses(t *testing.T) {
	svc := storetest.MustService(t)
	rows := make([]core.ImportRow, core.MaxImportRows+1)
	for i := range rows {
		rows[i] = core.ImportRow{Line: i + 2, User: core.User{Name: fmt.Sprintf("user%06d", i), MobileAllowed: true}}
	}
	n, err := svc.ImportUsers(rows, nil)
	if want := "There are more than 100,000 users to import; import them in parts."; n != 0 || core.ErrorMessage(err) != want {
		t.Errorf("import of %d rows: %d, %q; want %q", len(rows), n, core.ErrorMessage(err), want)
	}
	if users, err := svc.Users(); err != nil || len(users) != 0 {
		t.Errorf("%d users after the refusal, %v", len(users), err)
	}
}
