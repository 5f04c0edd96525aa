package vlan

import (
	"testing"
)

// set is a VIDSet for tests.
type set map[uint16]bool

func (s set) Has(v uint16) bool { return s[v] }
func (s set) Empty() bool       { return len(s) == 0 }

func c(vid uint16) Tag { return Tag{TPID: TPID8021Q, TCI: vid} }
func s(vid uint16) Tag { return Tag{TPID: TPID8021AD, TCI: vid} }
func st(ts ...Tag) [2]Tag {
	var out [2]Tag
	copy(out[:], ts)
	return out
}

func TestIngress(t *testing.T) {
	trunk := PortConfig{Mode: Trunk, Trunks: set{10: true, 20: true}}
	trunkAll := PortConfig{Mode: Trunk}
	access := PortConfig{Mode: Access, Tag: 10}
	ntag := PortConfig{Mode: NativeTagged, Tag: 10, Trunks: set{20: true}}
	nuntag := PortConfig{Mode: NativeUntagged, Tag: 10}
	tunnel := PortConfig{Mode: Dot1qTunnel, Tag: 100, CVLANs: set{10: true}}
	tunnelAll := PortConfig{Mode: Dot1qTunnel, Tag: 100, QinQEthType: TPID8021Q}
	prio := Tag{TPID: TPID8021Q, TCI: MakeTCI(5, 0)}
	for _, tt := range []struct {
		name  string
		cfg   PortConfig
		frame [2]Tag
		want  [2]Tag
		ok    bool
	}{
		{"access untagged", access, st(), st(c(10)), true},
		{"access priority-tagged keeps pcp", access, st(prio), st(Tag{TPID8021Q, MakeTCI(5, 10)}), true},
		{"access tagged drops", access, st(c(10)), st(), false},
		{"trunk listed vlan", trunk, st(c(20)), st(c(20)), true},
		{"trunk unlisted vlan drops", trunk, st(c(30)), st(), false},
		{"trunk untagged needs vlan 0", trunk, st(), st(), false},
		{"trunk all untagged", trunkAll, st(), st(), true},
		{"trunk all qinq kept", trunkAll, st(s(100), c(10)), st(s(100), c(10)), true},
		{"native-tagged untagged to native", ntag, st(), st(c(10)), true},
		{"native-tagged native vid tagged", ntag, st(c(10)), st(c(10)), true},
		{"native-tagged trunked", ntag, st(c(20)), st(c(20)), true},
		{"native-tagged other drops", ntag, st(c(30)), st(), false},
		{"native-untagged priority to native", nuntag, st(prio), st(Tag{TPID8021Q, MakeTCI(5, 10)}), true},
		{"native-untagged trunks all", nuntag, st(c(30)), st(c(30)), true},
		{"tunnel allowed cvlan", tunnel, st(c(10)), st(s(100), c(10)), true},
		{"tunnel other cvlan drops", tunnel, st(c(11)), st(), false},
		{"tunnel untagged with cvlans drops", tunnel, st(), st(), false},
		{"tunnel all untagged, 802.1Q outer", tunnelAll, st(), st(c(100)), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Ingress(&tt.cfg, tt.frame)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("got %v %v, want %v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEgress(t *testing.T) {
	trunk := PortConfig{Mode: Trunk, Trunks: set{10: true}}
	access := PortConfig{Mode: Access, Tag: 10}
	ntag := PortConfig{Mode: NativeTagged, Tag: 10}
	nuntag := PortConfig{Mode: NativeUntagged, Tag: 10}
	tunnel := PortConfig{Mode: Dot1qTunnel, Tag: 100, CVLANs: set{10: true}}
	for _, tt := range []struct {
		name string
		cfg  PortConfig
		xv   [2]Tag
		want [2]Tag
		ok   bool
	}{
		{"access own vlan untagged", access, st(c(10)), st(), true},
		{"access other vlan", access, st(c(20)), st(), false},
		{"access vlan 0", access, st(), st(), false},
		{"trunk tagged", trunk, st(c(10)), st(c(10)), true},
		{"trunk not trunked", trunk, st(c(20)), st(), false},
		{"trunk all vlan 0 untagged", PortConfig{Mode: Trunk}, st(), st(), true},
		{"trunk qinq from tunnel", PortConfig{Mode: Trunk}, st(s(100), c(10)), st(s(100), c(10)), true},
		{"native-tagged native stays tagged", ntag, st(c(10)), st(c(10)), true},
		{"native-tagged no vlan 0", ntag, st(), st(), false},
		{"native-untagged native stripped", nuntag, st(c(10)), st(), true},
		{"native-untagged other tagged", nuntag, st(c(30)), st(c(30)), true},
		{"tunnel pops service tag", tunnel, st(s(100), c(10)), st(c(10)), true},
		{"tunnel wrong cvlan", tunnel, st(s(100), c(11)), st(), false},
		{"tunnel wrong svlan", tunnel, st(s(200), c(10)), st(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Egress(&tt.cfg, tt.xv)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("got %v %v, want %v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// apply runs edits on a tag stack, the way the datapath applies the
// corresponding actions to a frame.
func apply(have [2]Tag, edits []Edit) [2]Tag {
	stack := []Tag{}
	for _, t := range have {
		if t.Present() {
			stack = append(stack, t)
		}
	}
	for _, e := range edits {
		switch e.Kind {
		case EditPop:
			stack = stack[1:]
		case EditPush:
			stack = append([]Tag{e.Tag}, stack...)
		case EditSet:
			stack[0].TCI = e.Tag.TCI
		}
	}
	return st(stack...)
}

func TestEdits(t *testing.T) {
	stacks := [][2]Tag{st(), st(c(10)), st(c(20)), st(s(10)), st(s(100), c(10)), st(s(100), c(20)), st(c(5), c(10))}
	for _, have := range stacks {
		for _, want := range stacks {
			es := Edits(make([]Edit, 0, 4), have, want)
			if got := apply(have, es); got != want {
				t.Errorf("%v -> %v: edits %v give %v", have, want, es, got)
			}
			if len(es) > 4 {
				t.Errorf("%v -> %v: %d edits", have, want, len(es))
			}
		}
	}
	if es := Edits(nil, st(c(10)), st(c(20))); len(es) != 1 || es[0].Kind != EditSet {
		t.Errorf("vid change should be one set: %v", es)
	}
	if es := Edits(nil, st(c(10)), st(s(100), c(10))); len(es) != 1 || es[0].Kind != EditPush {
		t.Errorf("service tag should be one push: %v", es)
	}
}

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		s      string
		hasTag bool
		want   Mode
		err    bool
	}{
		{"", true, Access, false}, {"", false, Trunk, false},
		{"native-untagged", true, NativeUntagged, false}, {"dot1q-tunnel", true, Dot1qTunnel, false},
		{"bogus", false, Trunk, true},
	} {
		m, err := ParseMode(tt.s, tt.hasTag)
		if m != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseMode(%q, %v) = %v, %v", tt.s, tt.hasTag, m, err)
		}
		if err == nil && tt.s != "" && m.String() != tt.s {
			t.Errorf("String() = %q", m.String())
		}
	}
}

func TestPriorityTags(t *testing.T) {
	in := st(Tag{TPID8021Q, MakeTCI(5, 10)})
	zero := st(c(10))
	for _, tt := range []struct {
		mode PriorityTags
		xv   [2]Tag
		want [2]Tag
	}{
		{PriorityTagsNever, in, st()},
		{PriorityTagsIfNonzero, in, st(Tag{TPID8021Q, MakeTCI(5, 0)})},
		{PriorityTagsIfNonzero, zero, st()},
		{PriorityTagsAlways, zero, st(Tag{TPID8021Q, 0})},
	} {
		cfg := PortConfig{Mode: Access, Tag: 10, PriorityTags: tt.mode}
		if got, ok := Egress(&cfg, tt.xv); !ok || got != tt.want {
			t.Errorf("mode %d: got %v %v, want %v", tt.mode, got, ok, tt.want)
		}
	}
	for s, want := range map[string]PriorityTags{"": PriorityTagsNever, "never": PriorityTagsNever,
		"if-nonzero": PriorityTagsIfNonzero, "true": PriorityTagsIfNonzero, "always": PriorityTagsAlways} {
		if got := ParsePriorityTags(s); got != want {
			t.Errorf("ParsePriorityTags(%q) = %d", s, got)
		}
	}
}
