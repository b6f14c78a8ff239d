using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Turn.Wire;

namespace Turn.Tests.Transport;

/// <summary>A bare UDP STUN client for tests: builds Binding requests and reads the answers, with the sender's address.</summary>
internal sealed class StunClientSocket : IDisposable
{
    private readonly byte[] _receive = new byte[65536];

    public StunClientSocket(IPAddress bindTo)
    {
        Socket = new Socket(bindTo.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
        Socket.Bind(new IPEndPoint(bindTo, 0));
    }

    public Socket Socket { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    public static byte[] BindingRequest(Action<StunWriterBox>? attributes = null)
    {
        byte[] buffer = new byte[1500];
        var box = new StunWriterBox(buffer, RandomNumberGenerator.GetBytes(12));
        attributes?.Invoke(box);
        return box.Finish();
    }

    public void Send(byte[] datagram, IPEndPoint server) => Socket.SendTo(datagram, server);

    /// <summary>Receives one datagram; returns it and who sent it.</summary>
    public (byte[] Data, IPEndPoint From) Receive()
    {
        EndPoint from = new IPEndPoint(Socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        int length = Socket.ReceiveFrom(_receive, ref from);
        return (_receive.AsSpan(0, length).ToArray(), (IPEndPoint)from);
    }

    public void Dispose() => Socket.Dispose();
}

/// <summary>Lets a lambda add attributes to a request without holding a ref struct.</summary>
internal sealed class StunWriterBox(byte[] buffer, byte[] transactionId)
{
    private readonly List<(StunAttributeType Type, byte[] Value)> _attributes = [];

    public void Add(StunAttributeType type, byte[] value) => _attributes.Add((type, value));

    public byte[] Finish()
    {
        var writer = StunWriter.Create(buffer, StunMethod.Binding, StunClass.Request, transactionId);
        foreach ((StunAttributeType type, byte[] value) in _attributes)
        {
            writer.AddBytes(type, value);
        }

        writer.AddFingerprint();
        return buffer.AsSpan(0, writer.Length).ToArray();
    }
}
