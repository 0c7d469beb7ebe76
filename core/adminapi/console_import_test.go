package adminapi_test

import (
	"fmt"
	"net/http"
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

// TestConsole_ImportRefusesMoreRowsThanAPreviewPasses: POST /v1/import
// takes at most core.MaxImportRows rows, the most a preview passes, and
// stops reading at the one past it. Its body may be 80 MiB, for the JSON
// of the largest file a preview passes; the same 80 MiB of empty rows
// ("{},") were 28 million rows decoded at once, about 10 GB, and the rows
// then went to one transaction, past the preview's cap. The refusal says
// so, and nothing is stored. (core.ImportUsers refuses such rows too,
// TestService_ImportUsersRefusesMoreThanAPreviewPasses.)
func TestConsole_ImportRefusesMoreRowsThanAPreviewPasses(t *testing.T) {
	svc, sock := newServer(t)
	hc := unixClient(sock)
	// The row past the cap has a number for a name: were it decoded, the
	// answer would be about that field, so the sentence also shows that
	// reading stopped before it.
	var body strings.Builder
	body.WriteString(`{"rows": [`)
	for i := range core.MaxImportRows {
		fmt.Fprintf(&body, `{"line": %d, "user": {"name": "user%06d"}},`, i+2, i)
	}
	fmt.Fprintf(&body, `{"line": %d, "user": {"name": 5}}]}`, core.MaxImportRows+2)
	resp, err := hc.Post("http://provisio/v1/import", "application/json", strings.NewReader(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	code, msg, b := apiError(t, resp)
	const want = "There are more than 100,000 users to import; import them in parts."
	if resp.StatusCode != http.StatusBadRequest || code != "invalid" || msg != want {
		t.Errorf("%d rows: %s %.300s, want 400 %q", core.MaxImportRows+1, resp.Status, b, want)
	}
	if users, err := svc.Users(); err != nil || len(users) != 0 {
		t.Errorf("%d users stored after the refusal, %v", len(users), err)
	}
}
