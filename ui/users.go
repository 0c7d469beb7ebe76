package ui

import (
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// userColumns are the widths of username, full name, email, device, last
// login and account state. Username's header with its sort arrow needs
// 13 % at 1024 px (at 10 % the arrow was drawn over "Full name"); Email
// and Account gave the room, which still fit their usual text at 1280.
var userColumns = columns{0.13, 0.13, 0.16, 0.33, 0.13, 0.12}

// userSort is a column the list can be sorted by.
type userSort int

const (
	sortByName userSort = iota
	sortByLastLogin
	sortByDevice
)

// usersScreen is User Management: the searchable, sortable list of users
// and the actions on the selected one. It holds every user in memory, so
// searching 10,000 users is a scan of short lower-cased strings and the
// list draws only the rows on screen.
type usersScreen struct {
	c *Console

	search *entry
	list   *widget.List
	empty  *widget.Label // shown instead of rows when there are none

	// sortBtns are the clickable headers of the sortable columns.
	sortBtns map[userSort]*widget.Button
	sortBy   userSort
	sortDesc bool

	add, importCSV                                          *widget.Button
	edit, del, lock, disable, resetPIN, revoke, reprovision *widget.Button
	selInfo                                                 *widget.Label // who the actions apply to

	all      []userRow  // sorted
	shown    []*userRow // all, filtered by search: pointers into all, so a keystroke copies no user
	selected string     // core.Key of the selected user; "" for none
	// mostRows is the most rows the list had since its keyboard
	// highlight was last put on the first row (highlightFirst).
	mostRows int

	// reads asks the service for the rows (refresh): one request on its
	// way at a time, so a burst of events holds one more, not one each;
	// every answer is shown (reread), so rows still come while events
	// keep coming faster than the network answers.
	reads reread[usersRead]
	// loaded: an answer to a read has been applied; until then an
	// attached console's list says it is loading.
	loaded bool

	form     *userForm       // the open Add/Edit dialog, if any
	confirm  *askDialog      // the open Delete or Revoke confirmation, if any
	pinReset *pinResetDialog // the open Reset PIN dialog, if any
	importer *csvImport      // the open import dialog, if any

	content fyne.CanvasObject
}

// userRow is a user with the expiry of their pending provision code.
type userRow struct {
	core.User
	pending time.Time        // zero when no code is pending
	oath    *core.OATHStatus // the user's OATH token, nil if none (users_oath.go)
	// key and search are the lower-cased name and the row's searchText
	// (usersearch.go), made once per refresh so that searching and
	// sorting only compare strings.
	key, search string
}

func newUsersScreen(c *Console) *usersScreen {
	s := &usersScreen{c: c}
	s.reads = reread[usersRead]{c: c, show: s.showRead}
	s.search = newUserSearch(c, s.searchChanged)

	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject { return container.New(userColumns, newCells(len(userColumns))...) },
		s.updateRow,
	)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(s.shown) {
			s.selected = core.Key(s.shown[id].Name)
		}
		s.updateButtons()
	}
	s.list.OnUnselected = func(widget.ListItemID) {
		s.selected = ""
		s.updateButtons()
	}
	searchKeys(s.search, s.list, c.win, func() int { return len(s.shown) },
		func() bool { _, ok := s.selectedRow(); return ok })
	s.empty = &widget.Label{Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}

	s.add = widget.NewButtonWithIcon("Add user", theme.ContentAddIcon(), func() { s.openForm(nil) })
	s.add.Importance = widget.HighImportance
	s.importCSV = widget.NewButtonWithIcon("Import CSV…", theme.UploadIcon(), s.chooseCSV)
	s.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() {
		if r, ok := s.selectedRow(); ok {
			s.openForm(&r.User)
		}
	})
	s.lock = widget.NewButton("Lock", s.toggleLock)
	s.disable = widget.NewButton("Disable", s.toggleDisabled)
	s.resetPIN = widget.NewButton("Reset PIN…", s.openPINReset)
	s.revoke = widget.NewButton("Revoke device…", s.confirmRevoke)
	s.del = widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), s.confirmDelete)
	s.reprovision = widget.NewButtonWithIcon("Reprovision", theme.ViewRefreshIcon(), func() {
		if r, ok := s.selectedRow(); ok {
			c.openReprovision(r.Name)
		}
	})
	s.reprovision.Importance = widget.HighImportance
	s.selInfo = &widget.Label{Truncation: fyne.TextTruncateEllipsis, TextStyle: fyne.TextStyle{Bold: true}}

	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(s.importCSV, s.add), newHeading("User Management")),
		s.search,
		s.newHeader(),
		widget.NewSeparator(),
	)
	actions := container.NewHBox(s.edit, s.lock, s.disable, s.resetPIN, s.revoke, s.del, s.reprovision)
	bottom := container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, nil, actions, s.selInfo))
	// Tab follows the objects' order, and NewBorder puts the middle
	// first: this order makes Tab go down the screen as it reads.
	s.content = container.New(layout.NewBorderLayout(top, bottom, nil, nil),
		top, container.NewStack(s.list, centred(s.empty)), bottom)
	// No user is selected until the first read has come and one is
	// picked: an attached console waits for it (seconds over a slow
	// network or while etcd has lost its quorum), and actions enabled
	// meanwhile would do nothing when pressed.
	s.updateButtons()
	s.refresh()
	return s
}

// newHeader returns the column titles; username, device and last login
// are buttons that sort the list.
func (s *usersScreen) newHeader() fyne.CanvasObject {
	s.sortBtns = map[userSort]*widget.Button{}
	sortable := func(by userSort) fyne.CanvasObject {
		b := &widget.Button{Alignment: widget.ButtonAlignLeading, Importance: widget.LowImportance,
			OnTapped: func() { s.sortOn(by) }}
		s.sortBtns[by] = b
		return b
	}
	label := func(t string) fyne.CanvasObject {
		return &widget.Label{Text: t, TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	}
	h := container.New(userColumns, sortable(sortByName), label("Full name"), label("Email"),
		sortable(sortByDevice), sortable(sortByLastLogin), label("Account"))
	s.updateSortButtons()
	return h
}

// sortOn sorts by a column, or reverses the order when it already is.
func (s *usersScreen) sortOn(by userSort) {
	if s.sortBy == by {
		s.sortDesc = !s.sortDesc
	} else {
		// Recent logins and provisioned devices first is what people
		// look for; names read A to Z.
		s.sortBy, s.sortDesc = by, by != sortByName
	}
	s.updateSortButtons()
	s.sortRows()
	s.applyFilter()
	s.highlightTop()
}

func (s *usersScreen) updateSortButtons() {
	titles := map[userSort]string{sortByName: "Username", sortByDevice: "Device", sortByLastLogin: "Last login"}
	for by, b := range s.sortBtns {
		t := titles[by]
		if by == s.sortBy {
			t += map[bool]string{false: "  ▲", true: "  ▼"}[s.sortDesc]
		}
		b.SetText(t)
	}
}

// sortRows orders all by the chosen column, then by name. It sorts
// indexes and moves each row once: rows are large, and a stable sort of
// 10,000 of them swapped in place takes several times as long.
func (s *usersScreen) sortRows() {
	now := s.c.svc.Now()
	by, desc := s.sortBy, s.sortDesc
	cmp := func(a, b *userRow) int {
		c := 0
		switch by {
		case sortByLastLogin:
			c = a.LastLogin.Compare(b.LastLogin)
		case sortByDevice:
			c = deviceRank(a, now) - deviceRank(b, now)
		}
		if c == 0 {
			c = strings.Compare(a.key, b.key)
			if by != sortByName {
				return c // names stay A to Z within a group
			}
		}
		if desc {
			c = -c
		}
		return c
	}
	order := make([]int, len(s.all))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp(&s.all[i], &s.all[j]) })
	sorted := make([]userRow, len(s.all))
	for i, j := range order {
		sorted[i] = s.all[j]
	}
	s.all = sorted
}

// deviceRank orders device states: none, a code waiting, provisioned.
func deviceRank(r *userRow, now time.Time) int {
	rank := 0
	if now.Before(r.pending) {
		rank = 1
	}
	if r.hasToken() {
		rank += 2
	}
	return rank
}

// loadingUsers is what an attached console's list says while its first
// read is on its way.
const loadingUsers = "Loading users…"

// usersRead is what the list shows, asked in one trip: the users, their
// pending provision codes and their OATH tokens.
type usersRead struct {
	users   []core.User
	pending map[string]time.Time       // nil when it could not be read
	oath    map[string]core.OATHStatus // nil when it could not be read
}

// refresh rereads users, pending codes and tokens from the service,
// keeping the search, the order and the selection. An attached console
// asks off the UI thread (request.go, reread): the rows on screen stay
// until the answer comes, and refreshes asked meanwhile cost one more
// read, not one each. Callers that act on the new rows use refreshThen.
func (s *usersScreen) refresh() { s.reads.ask(s.read()) }

// read is the request refresh sends; until an attached console's first
// answer comes, the list says it is loading.
func (s *usersScreen) read() func() (usersRead, error) {
	if !s.loaded && s.c.attached() {
		s.empty.SetText(loadingUsers)
		s.empty.Show()
	}
	svc := s.c.svc
	return func() (usersRead, error) {
		users, err := svc.Users()
		if err != nil {
			return usersRead{}, err
		}
		// On error the device column just won't mention codes, or tokens.
		pending, _ := svc.PendingCodes()
		oath, _ := svc.OATHStatuses()
		return usersRead{users: users, pending: pending, oath: oath}, nil
	}
}

// refreshThen is refresh, and then, once its answer has been applied,
// fn: a change that acts on the new rows (the user just added selected,
// the focus moved off a button the change disabled) waits for them, not
// for the answer to a read asked before the change. A console on its
// own store runs fn before refreshThen returns (reread.askThen).
func (s *usersScreen) refreshThen(fn func()) { s.reads.askThen(s.read(), fn) }

// showRead applies the answer to a read: the rows, or the reason they
// could not be read; then the status bar's counts and what waited for
// these rows (refreshThen).
func (s *usersScreen) showRead(r usersRead, err error) {
	s.loaded = true
	defer s.c.refreshStatus()
	if err != nil {
		s.all = nil
		s.empty.SetText("The users could not be read: " + core.ErrorMessage(err))
		s.applyFilter()
		return
	}
	s.all = make([]userRow, len(r.users))
	for i, u := range r.users {
		s.all[i] = userRow{User: u, pending: r.pending[u.Name], key: core.Key(u.Name),
			search: searchText(u.Name, u.FullName, u.Email),
			oath:   oathOf(r.oath, u.Name)}
	}
	if s.sortBy != sortByName || s.sortDesc {
		s.sortRows() // Users() is already in name order
	}
	s.empty.SetText("")
	s.applyFilter()
}

// selectKey selects the user whose core.Key is key, if the search shows
// them; otherwise nothing is selected, as for a user the search hides.
func (s *usersScreen) selectKey(key string) {
	s.selected = key
	s.applyFilter()
}

// counts returns how many users have a device and how many codes wait.
func (s *usersScreen) counts() (devices, pending int) {
	now := s.c.svc.Now()
	for i := range s.all {
		if s.all[i].hasToken() {
			devices++
		}
		if now.Before(s.all[i].pending) {
			pending++
		}
	}
	return devices, pending
}

// searchChanged shows the rows the search finds, with the list's
// keyboard highlight on the first (highlightTop).
func (s *usersScreen) searchChanged() {
	s.applyFilter()
	s.highlightTop()
}

// highlightTop puts the list's keyboard highlight (the row Up, Down and
// Space act on) on the first row, after a search or a sort changed the
// rows: Fyne's List left it on the row number it was on, which a search
// that leaves fewer rows makes a row that is not there, and a search or
// a sort makes another user's.
func (s *usersScreen) highlightTop() {
	highlightFirst(s.list, s.mostRows)
	s.mostRows = len(s.shown)
	// Going up to the first row scrolled there; the selection, if the
	// search kept it, stays in view.
	for i := range s.shown {
		if s.shown[i].key == s.selected {
			s.list.ScrollTo(i)
			break
		}
	}
}

// applyFilter recomputes the shown rows from the search text.
func (s *usersScreen) applyFilter() {
	s.shown = filterRows(s.all, s.search.Text, s.shown[:0])
	s.mostRows = max(s.mostRows, len(s.shown))
	switch {
	case len(s.shown) > 0:
		s.empty.Hide()
	case len(s.all) == 0 && s.empty.Text == "":
		s.empty.SetText("No users yet. Add one (Ctrl+N) or import a CSV file to get started.")
		s.empty.Show()
	case len(s.all) == 0:
		s.empty.Show() // an error message from refresh
	default:
		s.empty.SetText(noUserMatches(s.search.Text))
		s.empty.Show()
	}
	s.list.Refresh()

	// Keep the selection on the same user if they are still shown.
	if s.selected != "" {
		for i := range s.shown {
			if s.shown[i].key == s.selected {
				s.list.Select(i)
				s.updateButtons()
				return
			}
		}
	}
	s.list.UnselectAll()
	s.selected = ""
	s.updateButtons()
}

// filterRows appends to out the rows the search query finds
// (usersearch.go), keeping their order.
func filterRows(all []userRow, query string, out []*userRow) []*userRow {
	q := newUserQuery(query)
	for i := range all {
		if q.matches(all[i].search) {
			out = append(out, &all[i])
		}
	}
	return out
}

func (s *usersScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.shown) {
		return
	}
	r := *s.shown[id]
	cells := o.(*fyne.Container).Objects
	state := widget.MediumImportance
	if r.Locked || r.Disabled {
		state = widget.DangerImportance
	}
	setCells(cells, []string{r.Name, r.FullName, r.Email, deviceState(r, s.c.svc.Now()), lastLogin(r.User), accountState(r.User)},
		map[int]widget.Importance{5: state})
}

// deviceState describes a user's phone: none, provisioned (when, which
// OS) and any provision code still waiting to be used. A phone being
// replaced reads "new code until 09:10; provisioned (Android 15)": the
// code first, as it is what the helpdesk is waiting on, and the phone
// without its date, which with it did not fit the Device column at
// 1280×800.
func deviceState(r userRow, now time.Time) string {
	// PendingCodes was read at the last refresh; codes expire silently.
	pending := now.Before(r.pending)
	var parts []string
	switch {
	case pending && r.Provisioned():
		parts = append(parts, "new code until "+untilText(r.pending, now), "provisioned"+deviceOS(r.DeviceOS))
	case pending:
		parts = append(parts, "pending code until "+untilText(r.pending, now))
	case r.Provisioned():
		parts = append(parts, "provisioned at "+r.ProvisionedAt.Local().Format(dateTimeFormat)+deviceOS(r.DeviceOS))
	}
	if o := oathState(r.oath, now); o != "" {
		parts = append(parts, o)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// deviceOS is " (Android 15)" for a phone that said its OS, "" otherwise.
func deviceOS(os string) string {
	if os == "" {
		return ""
	}
	return " (" + os + ")"
}

// untilText is when something pending ends, as the users list says it:
// the time alone on the day it ends ("11:01", as "locked until 10:42"
// and the authenticator app's "pending until" read), the date as well
// when it ends another day. The date made a user who already has a phone
// and is being reprovisioned too long for the Device column at
// 1920×1080, cutting off the time the code ends.
func untilText(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format(dateTimeFormat)
}

// lastLogin is when the user last signed in with a one-time code.
func lastLogin(u core.User) string {
	if u.LastLogin.IsZero() {
		return "never"
	}
	return u.LastLogin.Local().Format(dateTimeFormat)
}

// accountState lists what stops a user from signing in.
func accountState(u core.User) string {
	var parts []string
	if u.Locked {
		parts = append(parts, u.LockText()) // "locked until 10:42" or "locked"
	}
	if u.Disabled {
		parts = append(parts, "disabled")
	}
	if !u.MobileAllowed {
		parts = append(parts, "no mobile client")
	}
	if len(parts) == 0 {
		return "active"
	}
	return strings.Join(parts, ", ")
}

func (s *usersScreen) selectedRow() (userRow, bool) {
	if s.selected == "" {
		return userRow{}, false
	}
	for i := range s.shown {
		if s.shown[i].key == s.selected {
			return *s.shown[i], true
		}
	}
	return userRow{}, false
}

// updateButtons enables the actions that fit the selected user, through
// setEnabled: one whose request is on its way stays disabled.
func (s *usersScreen) updateButtons() {
	r, ok := s.selectedRow()
	s.c.setEnabled(ok, s.edit, s.del, s.lock, s.disable, s.resetPIN)
	s.c.setEnabled(ok && r.revocable(), s.revoke)
	s.c.setEnabled(ok && !r.Disabled, s.reprovision) // core refuses codes for disabled users
	s.lock.SetText(map[bool]string{false: "Lock", true: "Unlock"}[ok && r.Locked])
	s.disable.SetText(map[bool]string{false: "Disable", true: "Enable"}[ok && r.Disabled])
	switch {
	case !ok:
		s.selInfo.SetText("Select a user for more actions.")
	case r.FullName != "":
		s.selInfo.SetText(r.Name + " — " + r.FullName)
	default:
		s.selInfo.SetText(r.Name)
	}
}
