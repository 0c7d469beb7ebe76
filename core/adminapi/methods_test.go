package adminapi_test

import (
	"net/http"
	"testing"
)

// TestHandler_WrongMethodSaysWhichThePathTakes: a method a route's path
// does not take is 405 with an Allow header and a sentence naming the
// methods it does take; it was the 404 of a path that does not exist,
// so a script that sent PUT for PATCH was told the user's path was not
// there. A path no route has stays 404.
func TestHandler_WrongMethodSaysWhichThePathTakes(t *testing.T) {
	_, sock := newServer(t)
	hc := unixClient(sock)
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
		wantCode     string
		wantMessage  string
	}{
		{"DELETE", "/v1/users", 405, "GET, POST", "method_not_allowed",
			"There is no DELETE /v1/users in the admin API /v1; /v1/users takes GET or POST."},
		{"PUT", "/v1/users/alice", 405, "GET, PATCH, DELETE", "method_not_allowed",
			"There is no PUT /v1/users/alice in the admin API /v1; /v1/users/alice takes GET, PATCH or DELETE."},
		{"GET", "/v1/users/alice/unlock", 405, "POST", "method_not_allowed",
			"There is no GET /v1/users/alice/unlock in the admin API /v1; /v1/users/alice/unlock takes POST."},
		{"GET", "/v1/nothing", 404, "", "not_found",
			"There is no GET /v1/nothing in the admin API /v1."},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://provisio"+tt.path, nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			code, msg, b := apiError(t, resp)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Allow") != tt.wantAllow ||
				code != tt.wantCode || msg != tt.wantMessage {
				t.Errorf("%s, Allow %q, %s\nwant %d, Allow %q, code %q, message %q", resp.Status, resp.Header.Get("Allow"), b,
					tt.wantStatus, tt.wantAllow, tt.wantCode, tt.wantMessage)
			}
		})
	}
}
