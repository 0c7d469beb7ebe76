package webclient

import (
	"regexp"
	"strings"
)

var (
	reAndroid = regexp.MustCompile(`Android ([0-9]+(?:\.[0-9]+)?)`)
	reIOS     = regexp.MustCompile(`(?:iPhone|CPU) OS ([0-9]+)(?:_([0-9]+))?`)
	reVersion = map[string]*regexp.Regexp{
		"Samsung Internet": regexp.MustCompile(`SamsungBrowser/([0-9]+)`),
		"Edge":             regexp.MustCompile(`Edg(?:A|iOS)?/([0-9]+)`),
		"Firefox":          regexp.MustCompile(`(?:Firefox|FxiOS)/([0-9]+)`),
		"Chrome":           regexp.MustCompile(`(?:Chrome|CriOS|HeadlessChrome)/([0-9]+)`),
		"Safari":           regexp.MustCompile(`Version/([0-9]+)`),
	}
)

// DeviceOS is what the console shows for a web client: "web, " and the
// browser and operating system read from the User-Agent header, such as
// "web, Chrome 131 on Android 14". It is a label for a person, not a
// security property: the header is whatever the browser says.
func DeviceOS(userAgent string) string {
	ua := userAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	browser := ""
	for _, name := range []string{"Samsung Internet", "Edge", "Firefox", "Chrome", "Safari"} {
		if name == "Safari" && !strings.Contains(ua, "Safari/") {
			continue
		}
		if m := reVersion[name].FindStringSubmatch(ua); m != nil {
			browser = name + " " + m[1]
			break
		}
	}
	os := ""
	switch {
	case reAndroid.MatchString(ua):
		os = "Android " + reAndroid.FindStringSubmatch(ua)[1]
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		os = "iOS"
		if m := reIOS.FindStringSubmatch(ua); m != nil {
			os += " " + m[1]
		}
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "Mac OS X"):
		os = "macOS"
	case strings.Contains(ua, "CrOS"):
		os = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	switch {
	case browser != "" && os != "":
		return "web, " + browser + " on " + os
	case browser != "":
		return "web, " + browser
	case os != "":
		return "web, " + os
	}
	return "web, unknown browser"
}
