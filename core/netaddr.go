package core

import (
	"net"
	"net/netip"
	"sort"
)

// LANAddresses returns the machine's non-loopback unicast addresses, IPv4
// first, the addresses phones on the LAN can reach.
func LANAddresses() []netip.Addr {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
				continue
			}
			out = append(out, ip)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Is4() && !out[j].Is4() })
	return out
}

// SourceIP is the address part of a TCP peer address such as
// net/http's Request.RemoteAddr ("192.0.2.1:5000" → "192.0.2.1"), with an
// IPv4-mapped IPv6 address unmapped. Only the TCP peer counts for limits
// and logs: forwarding headers are whatever the client wants them to be.
func SourceIP(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return ap.Addr().Unmap().String()
}

// SourceKey is the unit that per-source limits and counts apply to, for a
// TCP peer address such as Request.RemoteAddr ("192.0.2.1:5000",
// "[2001:db8::1]:443"): an IPv4 address (an IPv4-mapped IPv6 address
// unmapped), or the first address of an IPv6 address's /64, since a host
// usually holds a whole /64 and can rotate through it at will. It is the
// zero Addr when remoteAddr is not an address and port.
func SourceKey(remoteAddr string) netip.Addr {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return sourceUnit(ap.Addr())
}

// SourceName is how a source (an address as SourceIP gives it) is counted
// and logged by the rules that key by source: an IPv4 address as is, an
// IPv6 address as its /64 ("2001:db8::/64"), the same unit as SourceKey.
// Anything that is not an address ("admin socket") is returned unchanged.
func SourceName(source string) string {
	a, err := netip.ParseAddr(source)
	if err != nil {
		return source
	}
	a = sourceUnit(a)
	if a.Is6() {
		return netip.PrefixFrom(a, 64).String()
	}
	return a.String()
}

// sourceUnit is the rule of SourceKey and SourceName, written once.
func sourceUnit(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64) // drops a zone too
		return p.Addr()
	}
	return a
}
