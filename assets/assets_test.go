package assets_test

import (
	"bytes"
	"image/png"
	"testing"

	"provisio/assets"
)

func TestIcon(t *testing.T) {
	name, content := assets.IconResource()
	if name != assets.IconName {
		t.Errorf("IconResource name = %q, want %q", name, assets.IconName)
	}
	if !bytes.Equal(content, assets.Icon) {
		t.Error("IconResource content differs from Icon")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(content))
	if err != nil {
		t.Fatalf("Icon is not a PNG: %v", err)
	}
	if cfg.Width != 512 || cfg.Height != 512 {
		t.Errorf("Icon is %dx%d, want 512x512", cfg.Width, cfg.Height)
	}
}
