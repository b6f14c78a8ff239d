using System.Net;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Turn.Wire;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>Turns the listen options into concrete sockets to open and the RFC 5780 grid, if any.</summary>
internal static class ListenPlan
{
    public static List<ListenEndpoint> Endpoints(TurnOptions options, bool withTls)
    {
        ListenOptions listen = options.Listen;
        IPAddress? alternate = options.Rfc5780.AlternateAddress;
        IPAddress? primary = alternate is null ? null : TurnOptionsReader.PrimaryFor(listen, alternate.AddressFamily);
        var endpoints = new List<ListenEndpoint>();
        foreach (IPAddress address in listen.Addresses)
        {
            int role = address.Equals(primary) ? 0 : -1;
            AddPair(endpoints, listen, address, listen.UdpPort, listen.TcpPort, role);
            if (withTls && listen.Transports.Contains("tls"))
            {
                endpoints.Add(new ListenEndpoint(TransportProtocol.Tls, new IPEndPoint(address, listen.TlsPort), -1));
            }
        }

        if (primary is not null && alternate is not null)
        {
            int port = options.Rfc5780.AlternatePort;
            AddPair(endpoints, listen, primary, port, port, 1);
            AddPair(endpoints, listen, alternate, listen.UdpPort, listen.TcpPort, 2);
            AddPair(endpoints, listen, alternate, port, port, 3);
        }

        return endpoints;
    }

    public static NatBehaviorAddresses? NatBehavior(TurnOptions options)
    {
        IPAddress? alternate = options.Rfc5780.AlternateAddress;
        IPAddress? primary = alternate is null ? null : TurnOptionsReader.PrimaryFor(options.Listen, alternate.AddressFamily);
        if (primary is null || alternate is null)
        {
            return null;
        }

        ushort port = (ushort)options.Listen.UdpPort;
        return new NatBehaviorAddresses(
            StunAddress.FromIPEndPoint(new IPEndPoint(primary, port)),
            StunAddress.FromIPEndPoint(new IPEndPoint(alternate, port)),
            (ushort)options.Rfc5780.AlternatePort);
    }

    private static void AddPair(List<ListenEndpoint> endpoints, ListenOptions listen, IPAddress address, int udpPort, int tcpPort, int role)
    {
        if (listen.Transports.Contains("udp"))
        {
            endpoints.Add(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(address, udpPort), role));
        }

        if (listen.Transports.Contains("tcp"))
        {
            endpoints.Add(new ListenEndpoint(TransportProtocol.Tcp, new IPEndPoint(address, tcpPort), role));
        }
    }
}
