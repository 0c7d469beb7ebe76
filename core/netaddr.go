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
