package ui

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/qr"
	"provisio/core/qr/qrtest"
	"provisio/core/store/storetest"
)

// openFor adds user name and opens the Reprovision dialog for them from
// the users screen, as an admin would.
func (h *harness) openFor(name string) *reprovisionDialog {
	h.t.Helper()
	storetest.MustAddUser(h.t, h.svc, name, "1234")
	s := h.c.users
	h.waitFor(name+" listed", func() bool { return len(s.shown) > 0 })
	for i, r := range s.shown {
		if r.Name == name {
			s.list.Select(i)
		}
	}
	test.Tap(s.reprovision)
	h.answered()
	if h.c.reprov == nil {
		h.t.Fatal("Reprovision did not open the dialog")
	}
	return h.c.reprov
}

func TestReprovision_QRScansAndFollowsProvision(t *testing.T) {
	h := newHarness(t)
	// A real HTTPS server on loopback; it points server.listen at itself,
	// so the Provision URL in the QR code leads the phone to it.
	_, fingerprint := agentxmltest.MustServer(t, h.svc)
	d := h.openFor("alice")

	if d.status.Text != statusWaiting {
		t.Errorf("status %q, want %q", d.status.Text, statusWaiting)
	}
	if d.countdown.Text != "Expires in 10:00" {
		t.Errorf("countdown %q", d.countdown.Text)
	}
	code := strings.ReplaceAll(d.code.Text, " ", "")
	if code != d.issued.Code {
		t.Errorf("code label %q, issued %q", d.code.Text, d.issued.Code)
	}

	// What a phone camera would read off the screen.
	shot := h.win.Canvas().Capture()
	writeShot(t, "reprovision.png", shot)
	got := qrtest.MustDecode(t, shot)
	if got != d.issued.URL {
		t.Fatalf("QR reads %q, want the Provision URL %q", got, d.issued.URL)
	}
	_, _, site, user, urlCode, err := core.ParseProvisionURL(got)
	if err != nil {
		t.Fatal(err)
	}
	if user != "alice" || urlCode != code || site != "office" {
		t.Errorf("URL carries user %q code %q site %q", user, urlCode, site)
	}
	checkModuleSize(t, h, d, shot)

	// The phone scans the code and provisions over HTTPS, pinning the
	// server's certificate, exactly as the mobile client does.
	phone, err := agentxmltest.NewMobileClient(got, fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("iOS 17"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("provisioned status", func() bool { return d.status.Text == "Device provisioned (iOS 17)" })
	if u, _ := h.svc.User("alice"); u.DeviceID != phone.DeviceID() {
		t.Errorf("stored device %q, phone has %q", u.DeviceID, phone.DeviceID())
	}
	h.settle()
	if d.countdown.Text != "The code has been used." {
		t.Errorf("countdown after use %q", d.countdown.Text)
	}
}

// checkModuleSize measures the QR code as drawn: every module must be at
// least 4 screen pixels, and the image must be the whole code.
func checkModuleSize(t *testing.T, h *harness, d *reprovisionDialog, shot image.Image) {
	t.Helper()
	scale := h.win.Canvas().Scale()
	pos, ok := absPos(h.win.Canvas().Overlays().Top(), d.qrImage, fyne.Position{})
	if !ok {
		t.Fatal("QR image not found in the dialog")
	}
	size := d.qrImage.Size()
	side := int(size.Width * scale)
	if side < minQRSide {
		t.Errorf("QR drawn %d px wide, want at least %d", side, minQRSide)
	}
	if ppm := side / d.modules; ppm < qr.MinPixelsPerModule || side != ppm*d.modules {
		t.Errorf("QR is %d px for %d modules: %d px per module, uneven or below %d", side, d.modules, ppm, qr.MinPixelsPerModule)
	}

	// The top-left finder pattern starts after the quiet zone with a dark
	// run 7 modules long; measure it in the screenshot.
	// The painter rounds a fractional position (dialogs are centred).
	x0, y0 := int(math.Round(float64(pos.X*scale))), int(math.Round(float64(pos.Y*scale)))
	dark := func(x, y int) bool {
		if x < x0 || x >= x0+side || y < y0 || y >= y0+side {
			return false
		}
		r, g, b, _ := shot.At(x, y).RGBA()
		return r+g+b < 3*0x8000
	}
	for y := y0; y < y0+side; y++ {
		for x := x0; x < x0+side; x++ {
			if !dark(x, y) {
				continue
			}
			run := 0
			for dark(x+run, y) {
				run++
			}
			ppm := run / 7
			if ppm < qr.MinPixelsPerModule || run != 7*ppm {
				t.Errorf("finder pattern is %d px wide: %d px per module, want a whole number ≥ %d", run, ppm, qr.MinPixelsPerModule)
			}
			if quiet := x - x0; quiet != qr.QuietZone*ppm {
				t.Errorf("quiet zone %d px, want %d", quiet, qr.QuietZone*ppm)
			}
			return
		}
	}
	t.Error("no dark module found where the QR image is")
}

// absPos finds target below o, which is at pos, and returns target's
// position on the canvas.
func absPos(o, target fyne.CanvasObject, pos fyne.Position) (fyne.Position, bool) {
	pos = pos.Add(o.Position())
	if o == target {
		return pos, true
	}
	var children []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		children = c.Objects
	case fyne.Widget:
		children = test.WidgetRenderer(c).Objects()
	}
	for _, ch := range children {
		if p, ok := absPos(ch, target, pos); ok {
			return p, true
		}
	}
	return fyne.Position{}, false
}

// writeShot saves a screenshot under the test's output directory for a
// person to look at; set PROVISIO_SHOTS to a directory to keep them.
func writeShot(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("PROVISIO_SHOTS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Log(err)
	}
}

func TestReprovision_CountdownExpires(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("bob")

	h.clock.Advance(time.Second)
	h.waitFor("countdown 9:59", func() bool { return d.countdown.Text == "Expires in 9:59" })
	h.clock.Advance(9*time.Minute + 58*time.Second)
	h.waitFor("countdown 0:01", func() bool { return d.countdown.Text == "Expires in 0:01" })
	if d.status.Text != statusWaiting {
		t.Errorf("status %q before expiry", d.status.Text)
	}
	h.clock.Advance(time.Second)
	h.waitFor("Code expired", func() bool { return d.status.Text == statusExpired })

	// A late phone is refused by core; the dialog keeps saying why.
	if _, err := h.svc.Provision("127.0.0.1", "bob", d.issued.Code, "iOS 17"); core.ErrorCode(err) != core.CodeProvision {
		t.Errorf("late provision: %v", err)
	}
	h.settle()
	if d.status.Text != statusExpired {
		t.Errorf("status %q after a late attempt", d.status.Text)
	}

	// New code starts over, and says the old code is gone (#8).
	old := d.issued.Code
	test.Tap(d.newCode)
	if d.issued.Code == old || d.status.Text != statusReplaced || d.countdown.Text != "Expires in 10:00" {
		t.Errorf("after New code: code changed %v, status %q, countdown %q", d.issued.Code != old, d.status.Text, d.countdown.Text)
	}
}

func TestReprovision_FailureAndClose(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("carol")

	// A wrong code no longer spends the code; the policy's 20th does.
	for i := range 20 {
		if _, err := h.svc.Provision(fmt.Sprintf("192.0.2.%d", i+1), "carol", "WRONG123", "Android 15"); core.ErrorCode(err) != core.CodeProvision {
			t.Fatalf("wrong code: %v", err)
		}
		if i == 0 {
			h.settle()
			if d.status.Text != statusWaiting {
				t.Fatalf("status %q after one wrong attempt", d.status.Text)
			}
		}
	}
	want := "Provision failed: the provision code stopped working after 20 wrong attempts"
	h.waitFor("failure status", func() bool { return d.status.Text == want })

	test.Tap(d.closeBtn)
	if h.c.reprov != nil {
		t.Error("dialog still registered after Close")
	}
	if d.halt != nil {
		t.Error("countdown still running after Close")
	}
}

func TestReprovision_UserDeletedMeanwhile(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("erin")
	if err := h.svc.DeleteUser("erin"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("deleted status", func() bool { return d.status.Text == statusDeleted })
	if !d.newCode.Disabled() {
		t.Error("New code still offered for a deleted user")
	}
}

func TestReprovision_DisabledUserRefused(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "dan", "1234")
	if _, err := h.svc.UpdateUser("dan", func(u *core.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	h.c.openReprovision("dan")
	if h.c.reprov != nil {
		t.Fatal("dialog opened for a disabled user")
	}
	top := h.win.Canvas().Overlays().Top()
	if top == nil || !contains(visibleTexts(top), `User "dan" is disabled; enable them before reprovisioning.`) {
		t.Errorf("error dialog missing; overlay shows %q", visibleTexts(top))
	}
}

func TestCountdown(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{600 * time.Second, "10:00"},
		{599*time.Second + time.Millisecond, "10:00"},
		{599 * time.Second, "9:59"},
		{time.Millisecond, "0:01"},
		{0, "0:00"},
		{-time.Second, "0:00"},
		{3 * time.Hour, "3:00:00"},
		{1_000_000 * time.Second, "11d 13:46:40"},
	} {
		if got := countdown(tt.d); got != tt.want {
			t.Errorf("countdown(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestGroupCode(t *testing.T) {
	for in, want := range map[string]string{"ABCD2345": "ABCD 2345", "0123456789": "01234 56789", "ABC": "ABC"} {
		if got := groupCode(in); got != want {
			t.Errorf("groupCode(%q) = %q, want %q", in, got, want)
		}
	}
}
