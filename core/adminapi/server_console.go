package adminapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"provisio/core"
)

// The routes of the full console (core.ConsoleAPI, console.go), grouped by
// its screens. Every one is admin-only unless its action is in
// core's helpdeskMay (reading users, reprovisioning, profiles).

// Bodies larger than maxBody: a whole configuration (mail templates hold
// HTML) and a user import file.
const (
	maxConfigBody = 1 << 20
	maxImportBody = 8 << 20
	// maxImportRowsBody bounds POST /v1/import, whose rows are those of
	// a file the preview accepted (at most maxImportBody of CSV, in at
	// most core.MaxImportRows rows) sent back as JSON, where a byte of a
	// cell may take six ("<" is \u003c) and each row adds its keys (under
	// 256 bytes): 6 × 8 MiB + 100,000 × 256 B is under 74 MiB. At
	// maxImportBody a file of 45,000 users that the preview called ready
	// could not be imported.
	maxImportRowsBody = 80 << 20
)

func (h *handler) consoleRoutes(route func(string, core.AdminAction, http.HandlerFunc)) {
	// Users and reprovisioning.
	route("GET /v1/users/{name}", core.ActListUsers, h.userRecord)
	route("PATCH /v1/users/{name}", core.ActEditUser, h.editUser)
	route("POST /v1/import/preview", core.ActImportUsers, h.importPreview)
	route("POST /v1/import", core.ActImportUsers, h.importUsers)
	route("POST /v1/users/{name}/mail-code", core.ActReprovision, h.mailCode)
	route("POST /v1/users/{name}/withdraw-code", core.ActReprovision, h.withdrawCode)
	route("GET /v1/oath", core.ActListUsers, h.oathStatuses)
	route("GET /v1/users/{name}/oath", core.ActListUsers, h.oathStatus)
	route("POST /v1/users/{name}/oath", core.ActReprovision, h.issueOATH)
	route("POST /v1/users/{name}/oath/confirm", core.ActReprovision, h.confirmOATH)
	route("POST /v1/users/{name}/oath/mail", core.ActReprovision, h.mailOATH)
	// Profiles.
	route("GET /v1/profiles/{name}", core.ActReadProfiles, h.profile)
	route("GET /v1/profiles/{name}/impact", core.ActReadProfiles, h.profileImpact)
	route("POST /v1/profiles", core.ActWriteProfiles, h.addProfile)
	route("PUT /v1/profiles/{name}", core.ActWriteProfiles, h.saveProfile)
	route("DELETE /v1/profiles/{name}", core.ActWriteProfiles, h.deleteProfile)
	route("POST /v1/profiles/{name}/groups", core.ActWriteProfiles, h.assignProfileToGroup)
	route("POST /v1/effective-profile", core.ActReadProfiles, h.effectiveProfile)
	// Outbox.
	route("GET /v1/outbox", core.ActReadOutbox, h.outbox)
	route("POST /v1/outbox/{id}/retry", core.ActWriteOutbox, h.retryMail)
	route("POST /v1/outbox/retry-failed", core.ActWriteOutbox, h.retryFailedMail)
	route("DELETE /v1/outbox/{id}", core.ActWriteOutbox, h.discardMail)
	// Log.
	route("GET /v1/log", core.ActReadLog, h.logs)
	route("GET /v1/log/verify", core.ActReadLog, h.verifyLog)
	route("POST /v1/log", core.ActWriteLog, h.note)
	// Settings and policies, server, backups, mail transport.
	route("GET /v1/config", core.ActReadSettings, h.config)
	route("PUT /v1/config", core.ActWriteSettings, h.setConfig)
	route("GET /v1/health", core.ActHealth, h.health)
	route("GET /v1/server", core.ActHealth, h.serverStatus)
	route("POST /v1/backups/run", core.ActBackup, h.backupNow)
	route("POST /v1/backups/check", core.ActReadSettings, h.checkBackup)
	route("GET /v1/mail/template", core.ActReadSettings, h.mailTemplate)
	route("POST /v1/mail/test", core.ActMailTest, h.mailTest)
}

// users with ?view=full answers the full console's records (GET
// /v1/users); without, the short list of the command line.
func (h *handler) userRecords(w http.ResponseWriter, r *http.Request) {
	u, err := h.api(r).UserRecords()
	reply(w, http.StatusOK, u, err)
}

func (h *handler) userRecord(w http.ResponseWriter, r *http.Request) {
	u, err := h.api(r).UserRecord(r.PathValue("name"))
	reply(w, http.StatusOK, u, err)
}

func (h *handler) editUser(w http.ResponseWriter, r *http.Request) {
	var c core.AdminUserChange
	if !decode(w, r, &c) {
		return
	}
	u, err := h.api(r).EditUser(r.PathValue("name"), c)
	reply(w, http.StatusOK, u, err)
}

func (h *handler) importPreview(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		writeError(w, core.Errorf(core.CodeInvalid, "The import file is larger than %d MB; split it into smaller files and import them one by one.", maxImportBody>>20))
		return
	}
	p, err := h.api(r).PreviewImportCSV(data)
	reply(w, http.StatusOK, p, err)
}

func (h *handler) importUsers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Rows importRows `json:"rows"`
	}
	if !decodeN(w, r, &req, maxImportRowsBody) {
		return
	}
	n, err := h.api(r).Import(req.Rows)
	reply(w, http.StatusOK, map[string]int{"imported": n}, err)
}

// importRows are the rows of POST /v1/import, decoded one at a time so
// that a body stops at core.MaxImportRows rows. maxImportRowsBody admits
// the JSON of every file a preview passes, but the same 80 MiB of empty
// rows ("{},") are 28 million of them, about 10 GB decoded at once: one
// request could take the server's memory, and the rows were then written
// in one transaction, past the cap the preview keeps.
type importRows []core.ImportRow

// UnmarshalJSON decodes a list of rows, refusing the one past
// core.MaxImportRows before it is decoded. A type error inside a row
// comes back to the outer decoder, which adds the path ("rows.user.pin").
func (rs *importRows) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*rs = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil {
		return err
	} else if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &json.UnmarshalTypeError{Value: jsonKindOf(tok), Type: reflect.TypeFor[[]core.ImportRow]()}
	}
	var out []core.ImportRow
	for dec.More() {
		if len(out) == core.MaxImportRows {
			return core.ErrTooManyImportRows()
		}
		var row core.ImportRow
		if err := dec.Decode(&row); err != nil {
			return err
		}
		out = append(out, row)
	}
	*rs = out
	return nil
}

// jsonKindOf names the JSON value that starts with tok as
// json.UnmarshalTypeError.Value does ("string", "number", "bool",
// "object").
func jsonKindOf(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "object"
}

func (h *handler) mailCode(w http.ResponseWriter, r *http.Request) {
	var ic Issued
	if !decode(w, r, &ic) {
		return
	}
	ic.User = r.PathValue("name")
	out, err := h.api(r).MailCode(ic.IssuedCode())
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusOK, out, err)
}

func (h *handler) withdrawCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if !decode(w, r, &req) {
		return
	}
	ok, err := h.api(r).WithdrawProvisionCode(r.PathValue("name"), req.Code)
	reply(w, http.StatusOK, map[string]bool{"withdrawn": ok}, err)
}

func (h *handler) oathStatuses(w http.ResponseWriter, r *http.Request) {
	s, err := h.api(r).OATHStatuses()
	reply(w, http.StatusOK, s, err)
}

func (h *handler) oathStatus(w http.ResponseWriter, r *http.Request) {
	s, err := h.api(r).OATHStatus(r.PathValue("name"))
	reply(w, http.StatusOK, s, err)
}

func (h *handler) issueOATH(w http.ResponseWriter, r *http.Request) {
	var opt core.OATHOptions
	if !decode(w, r, &opt) {
		return
	}
	is, err := h.api(r).IssueOATH(r.PathValue("name"), opt)
	// The token's secret travels in this answer only.
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusCreated, is, err)
}

func (h *handler) confirmOATH(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if !decode(w, r, &req) {
		return
	}
	err := h.api(r).ConfirmOATH(r.PathValue("name"), req.Code)
	reply(w, http.StatusNoContent, nil, err)
}

func (h *handler) mailOATH(w http.ResponseWriter, r *http.Request) {
	var opt core.OATHOptions
	if !decode(w, r, &opt) {
		return
	}
	ic, err := h.api(r).MailOATHCode(r.PathValue("name"), opt)
	reply(w, http.StatusCreated, ic, err)
}

func (h *handler) profileRecords(w http.ResponseWriter, r *http.Request) {
	p, err := h.api(r).ProfileRecords()
	reply(w, http.StatusOK, p, err)
}

func (h *handler) profile(w http.ResponseWriter, r *http.Request) {
	p, err := h.api(r).Profile(r.PathValue("name"))
	reply(w, http.StatusOK, p, err)
}

func (h *handler) profileImpact(w http.ResponseWriter, r *http.Request) {
	n, err := h.api(r).ProfileImpact(r.PathValue("name"))
	reply(w, http.StatusOK, map[string]int{"users": n}, err)
}

// addProfile adds a profile; values absent take the Default profile's.
func (h *handler) addProfile(w http.ResponseWriter, r *http.Request) {
	p, err := h.api(r).Profile(core.DefaultProfileName)
	if err != nil {
		writeError(w, err)
		return
	}
	p.Name, p.Groups = "", nil
	if !decode(w, r, &p) {
		return
	}
	if err := h.api(r).AddProfile(p); err != nil {
		writeError(w, err)
		return
	}
	out, err := h.api(r).Profile(p.Name)
	reply(w, http.StatusCreated, out, err)
}

// saveProfile changes a profile's values: those given, merged over the
// profile as stored when the save's transaction runs
// (Service.EditProfile), so a value another console or server saved
// meanwhile, and not given here, stays. Its name and groups are not
// changed here.
func (h *handler) saveProfile(w http.ResponseWriter, r *http.Request) {
	var body json.RawMessage
	if !decode(w, r, &body) {
		return
	}
	// Checked before the transaction, so a bad body costs no write.
	var probe core.Profile
	if err := decodeStrict(body, &probe); err != nil {
		writeError(w, err)
		return
	}
	api := h.api(r)
	err := api.EditProfile(r.PathValue("name"), func(cur *core.Profile) error {
		return decodeStrict(body, cur)
	})
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := api.Profile(r.PathValue("name"))
	reply(w, http.StatusOK, out, err)
}

// apiReassignAdvice ends the API's refusal to delete a profile still
// assigned: core's ends with the console's advice (core.ProfileReassignAdvice),
// which names no parameter; the Console client puts the console's back.
const apiReassignAdvice = "add ?reassign_to=OTHER to the request to move them to profile OTHER."

func (h *handler) deleteProfile(w http.ResponseWriter, r *http.Request) {
	err := h.api(r).DeleteProfile(r.PathValue("name"), r.URL.Query().Get("reassign_to"))
	reply(w, http.StatusNoContent, nil, core.RewordEnding(err, core.ProfileReassignAdvice, apiReassignAdvice))
}

func (h *handler) assignProfileToGroup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Group string `json:"group"`
	}
	if !decode(w, r, &req) {
		return
	}
	err := h.api(r).AssignProfileToGroup(r.PathValue("name"), req.Group)
	reply(w, http.StatusNoContent, nil, err)
}

func (h *handler) effectiveProfile(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Group   string `json:"group"`
		Profile string `json:"profile"`
	}
	if !decode(w, r, &req) {
		return
	}
	e, err := h.api(r).EffectiveProfile(req.Group, req.Profile)
	reply(w, http.StatusOK, e, err)
}

func (h *handler) outbox(w http.ResponseWriter, r *http.Request) {
	m, err := h.api(r).Outbox()
	if m == nil {
		m = []core.OutMessage{}
	}
	reply(w, http.StatusOK, m, err)
}

// mailID reads the {id} of an outbox route.
func mailID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, core.Errorf(core.CodeNotFound, "There is no message %q in the outbox.", r.PathValue("id"))
	}
	return id, nil
}

func (h *handler) retryMail(w http.ResponseWriter, r *http.Request) {
	id, err := mailID(r)
	if err == nil {
		err = h.api(r).RetryMail(id)
	}
	reply(w, http.StatusNoContent, nil, err)
}

// retryFailedMail answers how many failed messages it queued again.
func (h *handler) retryFailedMail(w http.ResponseWriter, r *http.Request) {
	n, err := h.api(r).RetryFailedMail()
	reply(w, http.StatusOK, map[string]int{"queued": n}, err)
}

func (h *handler) discardMail(w http.ResponseWriter, r *http.Request) {
	id, err := mailID(r)
	if err == nil {
		err = h.api(r).DiscardMail(id)
	}
	reply(w, http.StatusNoContent, nil, err)
}

// maxLogPage bounds one page of the log.
const maxLogPage = 5000

// logs answers ?tail=N (the newest N) or ?after=SEQ&limit=N (oldest
// first from after), N at most maxLogPage.
func (h *handler) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	num := func(name string, def uint64) (uint64, bool) {
		s := q.Get(name)
		if s == "" {
			return def, true
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, core.FieldError(name, "%s is a whole number.", name))
			return 0, false
		}
		return n, true
	}
	var entries []core.LogEntry
	var err error
	if q.Has("tail") {
		n, ok := num("tail", 100)
		if !ok {
			return
		}
		entries, err = h.api(r).LogTail(int(min(n, maxLogPage)))
	} else {
		after, ok1 := num("after", 0)
		if !ok1 {
			return
		}
		limit, ok2 := num("limit", 100)
		if !ok2 {
			return
		}
		entries, err = h.api(r).Logs(after, int(min(limit, maxLogPage)))
	}
	if entries == nil {
		entries = []core.LogEntry{}
	}
	reply(w, http.StatusOK, entries, err)
}

func (h *handler) verifyLog(w http.ResponseWriter, r *http.Request) {
	v, err := h.api(r).VerifyLog()
	reply(w, http.StatusOK, v, err)
}

func (h *handler) note(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Level   core.Level `json:"level"`
		User    string     `json:"user"`
		Message string     `json:"message"`
	}
	if !decode(w, r, &req) {
		return
	}
	err := h.api(r).Note(req.Level, req.User, req.Message)
	reply(w, http.StatusNoContent, nil, err)
}

func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, h.api(r).Config(), nil)
}

// setConfig saves the settings. Only the keys given change (objects are
// merged key by key), so a client that knows fewer settings than the
// server loses none of the others; the console sends only the fields
// its form changed.
func (h *handler) setConfig(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Settings map[string]any `json:"settings"`
		What     string         `json:"what"`
	}
	if !decodeN(w, r, &req, maxConfigBody) {
		return
	}
	if req.Settings == nil {
		writeError(w, core.FieldError("settings", "The request needs \"settings\": the settings to change, named as GET /v1/config names them."))
		return
	}
	// Every name, inside objects too, is checked before anything is
	// saved: a misspelt "mail": {"prot": …} was merged, decoded without
	// a word and saved as "no setting changed".
	if k := unknownSetting(reflect.TypeFor[core.Settings](), req.Settings, ""); k != "" {
		writeError(w, core.FieldError(k, "There is no setting %q in GET /v1/config.", k))
		return
	}
	api := h.api(r)
	// The fields given are merged over the settings as stored when the
	// save's transaction runs, not over this server's snapshot, so a
	// setting another server or console saved a moment ago stays.
	edit := func(cur core.Settings) (core.Settings, error) {
		b, err := json.Marshal(cur)
		if err != nil {
			return core.Settings{}, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return core.Settings{}, err
		}
		merge(m, req.Settings) // reads req.Settings, writes only m
		if b, err = json.Marshal(m); err != nil {
			return core.Settings{}, err
		}
		var set core.Settings
		if err := json.Unmarshal(b, &set); err != nil {
			return core.Settings{}, bodyError(err)
		}
		return set, nil
	}
	saved, err := api.EditConfig(edit, req.What)
	reply(w, http.StatusOK, saved, err)
}

// unknownSetting is the dotted name of the first key of patch, at any
// depth, that struct type t has no JSON field for ("" when all are
// known), in a stable order. An object given for a field that is not a
// struct is left to the decoder, which names a wrong type.
func unknownSetting(t reflect.Type, patch map[string]any, prefix string) string {
	fields := jsonFields(t)
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			return prefix + k
		}
		if sub, isObj := patch[k].(map[string]any); isObj && ft.Kind() == reflect.Struct {
			if u := unknownSetting(ft, sub, prefix+k+"."); u != "" {
				return u
			}
		}
	}
	return ""
}

// jsonFields maps the JSON names of struct type t's fields, those of
// embedded structs included as encoding/json inlines them, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// merge writes patch into base, objects key by key.
func merge(base, patch map[string]any) {
	for k, v := range patch {
		if pm, ok := v.(map[string]any); ok {
			if bm, ok := base[k].(map[string]any); ok {
				merge(bm, pm)
				continue
			}
		}
		base[k] = v
	}
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	hl := h.api(r).Health()
	reply(w, http.StatusOK, struct {
		core.Health
		OK      bool   `json:"ok"`
		Message string `json:"message,omitempty"`
	}{hl, hl.OK(), hl.Message()}, nil)
}

func (h *handler) serverStatus(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, h.api(r).ServerStatus(), nil)
}

func (h *handler) backupNow(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, h.api(r).BackupNow(), nil)
}

func (h *handler) checkBackup(w http.ResponseWriter, r *http.Request) {
	var b core.BackupSettings
	if !decode(w, r, &b) {
		return
	}
	reply(w, http.StatusNoContent, nil, h.api(r).CheckBackupSettings(b))
}

func (h *handler) mailTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := h.api(r).DefaultMailTemplate()
	reply(w, http.StatusOK, t, err)
}

func (h *handler) mailTest(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mail core.MailSettings `json:"mail"`
		To   string            `json:"to"`
	}
	if !decode(w, r, &req) {
		return
	}
	reply(w, http.StatusNoContent, nil, h.api(r).SendTestMail(req.Mail, req.To))
}
