package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// FuzzService_PreviewImport feeds arbitrary files to the CSV import
// preview, a parser of outside input (a file an admin picked). It must
// never panic; a refused file gets a sentence; an accepted one lists
// problems by line, each with a message, and never saves a user.
func FuzzService_PreviewImport(f *testing.F) {
	// Seeds from the table tests of users_import_test.go.
	f.Add("\ufeffusername,full_name,email,mobile,group,pin\n" +
		"alice,Alice Liddell,alice@example.org,+44 20 7946 0001,sales,2468\n" +
		"bob,,bob-at-example,,,\n" +
		"carol,\"Carol, Jr.\",,,,12\n" +
		"Alice,Again,,,,\n" +
		"zoe,,,,,\n" +
		",,,,,\n" +
		"dan,Dan\n" +
		"erin,,erin@example.org,,,\n")
	f.Add("")
	f.Add("name,email\nalice,a@b.c")
	f.Add("email,pin\n")
	f.Add("username,username\n")
	f.Add("username,pin\n\"unterminated,1234\nbob,2468\n")
	f.Add("username\r\nalice\r\n\r\nbob\r\n")
	svc := storetest.MustService(f)
	storetest.MustAddUser(f, svc, "zoe", "1357")
	f.Fuzz(func(t *testing.T, file string) {
		p, err := svc.PreviewImport(strings.NewReader(file))
		if err != nil {
			if msg := core.ErrorMessage(err); msg == "" || !strings.HasSuffix(msg, ".") {
				t.Fatalf("refusal without a sentence: %q", msg)
			}
			return
		}
		last := 0
		for _, pr := range p.Problems {
			if pr.Message == "" || pr.Line < 1 {
				t.Fatalf("problem %+v", pr)
			}
			if pr.Line < last {
				t.Fatalf("problems out of line order: %+v", p.Problems)
			}
			last = pr.Line
		}
		for _, r := range p.Rows {
			if r.Line < 2 {
				t.Fatalf("row %+v before the header", r)
			}
		}
		if p.OK() && p.BadRows != 0 {
			t.Fatalf("OK with %d bad rows", p.BadRows)
		}
		users, err := svc.Users()
		if err != nil || len(users) != 1 {
			t.Fatalf("preview changed the users: %d, %v", len(users), err)
		}
	})
}
