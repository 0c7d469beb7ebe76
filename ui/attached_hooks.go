package ui

// What a test of the attached console drives and reads besides Press,
// SelectUser and the status line: the Add user form, as a person types
// into it (app/attachtest runs the window against a real service
// process).

// TypeInAddUser types text into the open Add user form's field (name,
// full_name, email, mobile, group), key by key; false when no form is
// open or it has no such field.
func (at *Attached) TypeInAddUser(field, text string) bool {
	k := at.addForm
	if !at.addOpen() {
		return false
	}
	f, ok := k.fields[field]
	if !ok {
		return false
	}
	for _, r := range text {
		f.entry.TypedRune(r)
	}
	return true
}

// AddUserForm is the open Add user form: whether it is open, the text of
// each field, and the sentences it shows (under the form and the fields).
func (at *Attached) AddUserForm() (open bool, values map[string]string, message string) {
	k := at.addForm
	if k == nil {
		return false, nil, ""
	}
	values = map[string]string{}
	for name, f := range k.fields {
		values[name] = f.entry.Text
		if f.msg != nil && f.msg.Visible() && f.msg.Text != "" {
			message += f.msg.Text + " "
		}
	}
	if k.general.Visible() {
		message += k.general.Text
	}
	return at.addOpen(), values, message
}

// SubmitAddUser presses the open Add user form's Add button; false when
// no form is open or the button waits for an answer.
func (at *Attached) SubmitAddUser() bool {
	k := at.addForm
	if !at.addOpen() || k.ok.Disabled() {
		return false
	}
	k.press()
	return true
}

// addOpen reports whether the last Add user form is still open: its
// dialog is among the window's open ones.
func (at *Attached) addOpen() bool {
	return at.addForm != nil && at.addModal != nil && at.hasModal(at.addModal)
}
