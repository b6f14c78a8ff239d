using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Turn.Tests.Interop;

/// <summary>
/// Readiness checks for servers started by a test, built by hand rather than with the daemon's
/// codec so that they work the same against coturn and do not depend on the code under test.
/// </summary>
internal static class StunPing
{
    private const int HeaderLength = 20;
    private const uint MagicCookie = 0x2112A442;

    /// <summary>RFC 8489 §5: a Binding request with no attributes.</summary>
    public static byte[] BindingRequest()
    {
        byte[] request = new byte[HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(request, 0x0001);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(4), MagicCookie);
        RandomNumberGenerator.Fill(request.AsSpan(8, 12));
        return request;
    }

    /// <summary>True once a UDP Binding request to <paramref name="server"/> gets a Binding response back.</summary>
    public static async Task<bool> UdpAnswers(IPEndPoint server, TimeSpan wait)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        byte[] request = BindingRequest();
        byte[] response = new byte[1500];
        try
        {
            await socket.SendToAsync(request, server);
            using var timeout = new CancellationTokenSource(wait);
            SocketReceiveFromResult received = await socket.ReceiveFromAsync(response, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            return received.ReceivedBytes >= HeaderLength
                && BinaryPrimitives.ReadUInt16BigEndian(response) == 0x0101
                && response.AsSpan(8, 12).SequenceEqual(request.AsSpan(8, 12));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>True when a TCP connection to <paramref name="server"/> is accepted.</summary>
    public static async Task<bool> TcpAccepts(IPEndPoint server)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(server);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
