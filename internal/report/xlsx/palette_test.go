package xlsx

import (
	"math"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
)

// Colour-vision deficiency simulations (Machado, Oliveira and Fernandes
// 2009, severity 1), applied to linear RGB.
var visions = map[string][3][3]float64{
	"normal vision": {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
	"protanopia":    {{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}},
	"deuteranopia":  {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}},
	"tritanopia":    {{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}},
}

// lab returns the CIELAB (D65) coordinates of an RGB hex colour as seen
// with vision m.
func lab(hex string, m [3][3]float64) [3]float64 {
	r, g, b := linearRGB(hex)
	in := [3]float64{r, g, b}
	var c [3]float64
	for i := range c {
		c[i] = math.Min(1, math.Max(0, m[i][0]*in[0]+m[i][1]*in[1]+m[i][2]*in[2]))
	}
	x := (0.4124*c[0] + 0.3576*c[1] + 0.1805*c[2]) / 0.95047
	y := 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
	z := (0.0193*c[0] + 0.1192*c[1] + 0.9505*c[2]) / 1.08883
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return t/(3*(6.0/29)*(6.0/29)) + 4.0/29
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}

func deltaE(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// minDeltaE is the least colour difference (CIE76) two fills of a set may
// have under any vision: 15 is clearly distinct at a glance. The former
// fills failed it (LOW and INFO, both grey, 8.9 apart under tritanopia).
const minDeltaE = 15

func TestPalette(t *testing.T) {
	sev := map[string]string{}
	for s, c := range severityFill {
		sev[string(s)] = c
	}
	ver := map[string]string{}
	for v, c := range verdictFill {
		ver[string(v)] = c
	}
	for set, fills := range map[string]map[string]string{"severity": sev, "verdict": ver, "completeness": {"good": goodFill, "bad": badFill}} {
		for vision, m := range visions {
			for a, ca := range fills {
				for b, cb := range fills {
					if a < b {
						if d := deltaE(lab(ca, m), lab(cb, m)); d < minDeltaE {
							t.Errorf("%s %s and %s are %.1f apart under %s, want at least %d", set, a, b, d, vision, minDeltaE)
						}
					}
				}
			}
		}
	}
	// The scale reads in order without hue: each severity is darker than
	// the next, under every vision.
	for vision, m := range visions {
		for i := 0; i+1 < len(audit.Severities)-1; i++ { // INFO ranks nothing
			a, b := audit.Severities[i], audit.Severities[i+1]
			if la, lb := lab(severityFill[a], m)[0], lab(severityFill[b], m)[0]; la+10 > lb {
				t.Errorf("under %s %s (L %.0f) is not clearly darker than %s (L %.0f)", vision, a, la, b, lb)
			}
		}
	}
	// The label on each fill is legible: WCAG AA contrast, 4.5:1.
	for name, c := range map[string]string{"CRITICAL": severityFill[audit.Critical], "HIGH": severityFill[audit.High], "MEDIUM": severityFill[audit.Medium],
		"LOW": severityFill[audit.Low], "INFO": severityFill[audit.Info], "AT_RISK": verdictFill[audit.VerdictAtRisk],
		"UNVERIFIED": verdictFill[audit.VerdictUnverified], "OK": verdictFill[audit.VerdictOK], "PUBLIC": verdictFill[audit.VerdictPublic], "header": headerFill} {
		l := luminance(c)
		contrast := (l + 0.05) / 0.05 // black text
		if whiteOn(c) {
			contrast = 1.05 / (l + 0.05)
		}
		if contrast < 4.5 {
			t.Errorf("%s text on %s: contrast %.1f, want 4.5", name, c, contrast)
		}
	}
}
