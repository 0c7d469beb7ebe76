package core

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// UserCSVColumns are the columns of a user import file, which starts with
// a header row naming them. Only username is required; the others may be
// left out or given in any order.
var UserCSVColumns = []string{"username", "full_name", "email", "mobile", "group", "pin"}

// MaxImportRows caps one import, far above a small office, so a wrong
// file (a log, a database dump) is refused instead of read for minutes.
const MaxImportRows = 100_000

// maxImportProblems is how many row problems a preview lists; the count
// of rows with problems is always complete.
const maxImportProblems = 1000

// ImportRow is one data row of a user import file.
type ImportRow struct {
	Line int  `json:"line"` // line in the file; the header is line 1
	User User `json:"user"`
}

// ImportProblem says what is wrong with one row.
type ImportProblem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"` // the User field at fault ("name", "email", ...); "" for the row
	Message string `json:"message"`         // a sentence for people
}

// ImportPreview is a user import file as read and checked, before
// anything is saved.
type ImportPreview struct {
	Rows []ImportRow `json:"rows"` // every row that could be read, in file order
	// Problems lists rows that cannot be imported, up to a thousand.
	Problems []ImportProblem `json:"problems"`
	// BadRows counts the rows with problems, listed or not.
	BadRows int `json:"bad_rows"`
}

// OK reports whether the whole file can be imported.
func (p ImportPreview) OK() bool { return p.BadRows == 0 && len(p.Rows) > 0 }

// PreviewImport reads a user import file (CSV with a header row, see
// UserCSVColumns) and checks every row as AddUser would: field rules, the
// PIN policy, names repeated in the file and users that already exist.
// It saves nothing. An error means the file as a whole is unusable (no
// header, an unknown column); problems with single rows are in the
// preview.
func (s *Service) PreviewImport(r io.Reader) (ImportPreview, error) {
	set := s.Settings()
	rows, problems, err := readUserCSV(r)
	if err != nil {
		return ImportPreview{}, err
	}
	p := ImportPreview{Rows: rows}
	bad := map[int]bool{}
	add := func(pr ImportProblem) {
		if !bad[pr.Line] {
			bad[pr.Line] = true
			p.BadRows++
		}
		if len(p.Problems) < maxImportProblems {
			p.Problems = append(p.Problems, pr)
		}
	}
	for _, pr := range problems {
		add(pr)
	}
	seen := map[string]int{} // key → first line
	err = s.store.View(func(tx Tx) error {
		for i := range p.Rows {
			row := &p.Rows[i]
			if pr, ok := checkImportRow(tx, row, set, seen); !ok {
				add(pr)
			}
		}
		return nil
	})
	if err != nil {
		return ImportPreview{}, err
	}
	sortProblems(p.Problems)
	return p, nil
}

// checkImportRow validates row in place (trimming its fields) and reports
// its first problem.
func checkImportRow(tx Tx, row *ImportRow, set Settings, seen map[string]int) (ImportProblem, bool) {
	// Text in another character set came from how the file was saved, so
	// the sentence says how to save it; ValidateUser's (notUTF8) is also
	// the CLI's, where "type it again in a UTF-8 terminal" is right.
	for _, f := range []struct{ field, what, value string }{
		{"name", "username", row.User.Name},
		{"full_name", "full name", row.User.FullName},
		{"group", "group", row.User.Group},
	} {
		if !utf8.ValidString(f.value) {
			return ImportProblem{Line: row.Line, Field: f.field, Message: importNotUTF8(f.what)}, false
		}
	}
	if err := ValidateUser(&row.User, set.PINMin, set.PINMax); err != nil {
		var e *Error
		field := ""
		if errors.As(err, &e) {
			field = e.Field
		}
		return ImportProblem{Line: row.Line, Field: field, Message: ErrorMessage(err)}, false
	}
	k := Key(row.User.Name)
	if first, ok := seen[k]; ok {
		return ImportProblem{Line: row.Line, Field: "name",
			Message: fmt.Sprintf("The username %q is also on line %d.", row.User.Name, first)}, false
	}
	seen[k] = row.Line
	// A live user blocks the name; a deleted user's record is replaced,
	// as when the console adds one user (claimName).
	if _, err := checkName(tx, row.User.Name, LocalRepository); err != nil {
		return ImportProblem{Line: row.Line, Field: "name", Message: ErrorMessage(err)}, false
	}
	return ImportProblem{}, true
}

// importNotUTF8 is the sentence for a row whose what (a column) is not
// UTF-8: the file was saved in another character set.
func importNotUTF8(what string) string {
	return "The " + what + " is not UTF-8 text; save the file from the spreadsheet as \"CSV UTF-8 (comma delimited)\" and import it again."
}

func sortProblems(ps []ImportProblem) {
	// Insertion sort: problems arrive almost in order (parse problems
	// first, then row checks), and the list is short.
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Line < ps[j-1].Line; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// readUserCSV parses the file into rows. Rows whose every cell is empty
// (spreadsheets leave them at the end) are skipped.
func readUserCSV(r io.Reader) ([]ImportRow, []ImportProblem, error) {
	br := bufio.NewReader(r)
	// Spreadsheets also save "Unicode text" (UTF-16, with its byte
	// order mark) and, in many countries, CSV with semicolons: each gets
	// a sentence saying how to save the file instead of "unknown column
	// \"\xff\xfeu\x00s\x00…\"".
	if bom, _ := br.Peek(2); string(bom) == "\xff\xfe" || string(bom) == "\xfe\xff" {
		return nil, nil, Errorf(CodeInvalid, "The file is UTF-16 text (\"Unicode text\"); save it from the spreadsheet as \"CSV UTF-8 (comma delimited)\" and import that.")
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // counted here, to say which row is short
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, Errorf(CodeInvalid, "The file is empty; it needs a header row: %s.", strings.Join(UserCSVColumns, ","))
	}
	if err != nil {
		return nil, nil, Errorf(CodeInvalid, "The file is not a CSV file with a header row: %s.", strings.Join(UserCSVColumns, ","))
	}
	if h := strings.Join(header, ","); !utf8.ValidString(h) {
		return nil, nil, Errorf(CodeInvalid, "The file is not UTF-8 text; save it from the spreadsheet as \"CSV UTF-8 (comma delimited)\" and import that.")
	}
	if len(header) == 1 {
		for _, sep := range []struct{ c, name string }{{";", "semicolons"}, {"\t", "tabs"}} {
			if parts := strings.Split(header[0], sep.c); len(parts) > 1 && knownColumns(parts) {
				return nil, nil, Errorf(CodeInvalid, "The columns of the file are separated by %s; save it from the spreadsheet as \"CSV UTF-8 (comma delimited)\", with commas, and import that.", sep.name)
			}
		}
	}
	col := map[string]int{}
	for i, h := range header {
		h = columnName(h)
		if !knownColumns([]string{h}) {
			return nil, nil, Errorf(CodeInvalid, "The header names an unknown column %q; the columns are %s.", h, strings.Join(UserCSVColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, nil, Errorf(CodeInvalid, "The header names the column %q twice.", h)
		}
		col[h] = i
	}
	if _, ok := col["username"]; !ok {
		return nil, nil, Errorf(CodeInvalid, "The header has no username column; the columns are %s.", strings.Join(UserCSVColumns, ", "))
	}

	var rows []ImportRow
	var problems []ImportProblem
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// FieldPos panics after a failed Read (no fields): the line
			// comes from the error instead.
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			problems = append(problems, ImportProblem{Line: line, Message: "This line is not valid CSV (check its quotes)."})
			if len(problems) > maxImportProblems {
				break
			}
			continue
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rows)+len(problems) >= MaxImportRows {
			return nil, nil, Errorf(CodeInvalid, "The file has more than %s rows; import it in parts.", GroupDigits(MaxImportRows))
		}
		if len(rec) != len(header) {
			problems = append(problems, ImportProblem{Line: line,
				Message: fmt.Sprintf("This row has %d columns; the header has %d.", len(rec), len(header))})
			continue
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok {
				return rec[i]
			}
			return ""
		}
		rows = append(rows, ImportRow{Line: line, User: User{
			Name: cell("username"), FullName: cell("full_name"), Email: cell("email"),
			Mobile: cell("mobile"), Group: cell("group"), PIN: cell("pin"),
			// As in the console's Add dialog: imported users are there to
			// use the mobile client.
			MobileAllowed: true,
		}})
	}
	return rows, problems, nil
}

// columnName is a header cell as a column name: trimmed, lower case,
// without the byte order mark spreadsheets put before the first.
func columnName(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

// knownColumns reports whether every header cell names a column.
func knownColumns(cells []string) bool {
	for _, h := range cells {
		known := false
		for _, c := range UserCSVColumns {
			known = known || columnName(h) == c
		}
		if !known {
			return false
		}
	}
	return true
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// ErrTooManyImportRows refuses an import of more than MaxImportRows
// users, the most a preview passes: ImportUsers says it, and so does a
// caller that counts the rows before it has them all (the admin API,
// which decodes them one by one).
func ErrTooManyImportRows() error {
	return Errorf(CodeInvalid, "There are more than %s users to import; import them in parts.", GroupDigits(MaxImportRows))
}

// importProgressEvery is how many rows pass between progress reports.
const importProgressEvery = 250

// ImportUsers adds the rows of a preview in one transaction: either every
// user is added or, if any row fails (for example a user of that name was
// added since the preview), none is, and the error names the line.
// progress, if not nil, is called now and then with the rows done so far
// from the calling goroutine; it must not call back into the Service.
func (s *Service) ImportUsers(rows []ImportRow, progress func(done, total int)) (int, error) {
	if len(rows) == 0 {
		return 0, Errorf(CodeInvalid, "There are no users to import.")
	}
	if len(rows) > MaxImportRows {
		// More than any preview passes (PreviewImport): one transaction
		// of millions of users would hold the store's writer for minutes
		// and its memory until the commit.
		return 0, ErrTooManyImportRows()
	}
	set := s.Settings()
	err := s.update(false, func(tx Tx, log *logger) error {
		seen := map[string]int{}
		now := log.now
		for i, row := range rows {
			if pr, ok := checkImportRow(tx, &row, set, seen); !ok {
				return &Error{Code: CodeInvalid, Field: pr.Field,
					Message: fmt.Sprintf("Nothing was imported: line %d: %s", pr.Line, pr.Message)}
			}
			u := row.User
			u.Created = now
			u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
			u.DeviceCert = nil
			if err := claimName(tx, u.Name, LocalRepository); err != nil {
				return err
			}
			if err := tx.PutUser(u); err != nil {
				return err
			}
			if err := log.add(LevelInfo, u.Name, "User %q added by import.", u.Name); err != nil {
				return err
			}
			if progress != nil && (i+1)%importProgressEvery == 0 {
				progress(i+1, len(rows))
			}
		}
		return log.add(LevelInfo, "", "Imported %s.", PluralGrouped(len(rows), "user", "users"))
	}, s.usersChanged(""))
	if err != nil {
		return 0, err
	}
	if progress != nil {
		progress(len(rows), len(rows))
	}
	return len(rows), nil
}
