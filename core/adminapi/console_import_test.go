package adminapi_test

import (
	"fmt"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestConsole_ImportsWhatItsPreviewAccepted: a file the preview calls
// ready imports, however its rows grow as JSON on the way back: 45,000
// users with every column are 3.5 MB of CSV, under the file's 8 MB, but
// over 8 MiB as the rows Import sends, and the import was refused with
// "The request body is over 8 MiB" while the dialog said "45000 users
// ready to import".
func TestConsole_ImportsWhatItsPreviewAccepted(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	k := adminapi.NewConsole(c)
	const n = 45_000
	var csv strings.Builder
	csv.WriteString("username,full_name,email,mobile,group\n")
	for i := range n {
		fmt.Fprintf(&csv, "user%06d,Full Name %d,user%06d@example.org,+4412345%06d,Group%d\n", i, i, i, i, i%20)
	}
	pre, err := k.PreviewImport(strings.NewReader(csv.String()))
	if err != nil || !pre.OK() || len(pre.Rows) != n {
		t.Fatalf("preview: %d rows, %d bad, %v", len(pre.Rows), pre.BadRows, err)
	}
	if got, err := k.ImportUsers(pre.Rows, nil); err != nil || got != n {
		t.Fatalf("import: %d, %v", got, err)
	}
	if users, err := svc.Users(); err != nil || len(users) != n {
		t.Fatalf("stored %d users, %v", len(users), err)
	}
}

// TestConsole_ImportFileTooLargeSaysSplitIt: a file over the preview's
// 8 MB is refused with what to do about it, not only what is wrong.
// Before, "The import file is larger than 8 MB." and nothing more.
func TestConsole_ImportFileTooLargeSaysSplitIt(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	k := adminapi.NewConsole(c)
	big := "username,full_name\n" + strings.Repeat("someone,"+strings.Repeat("x", 100)+"\n", 90_000)
	_, err = k.PreviewImport(strings.NewReader(big))
	want := "The import file is larger than 8 MB; split it into smaller files and import them one by one."
	if got := core.ErrorMessage(err); got != want {
		t.Errorf("preview of a %d-byte file: %q, want %q", len(big), got, want)
	}
	if users, _ := svc.Users(); len(users) != 0 {
		t.Errorf("%d users after a refused preview", len(users))
	}
}
