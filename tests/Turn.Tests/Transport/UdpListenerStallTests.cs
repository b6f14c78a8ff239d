using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Server;
using Turn.Tests.Server;
using Turn.Transport;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Transport;

/// <summary>
/// What the systemd watchdog relies on: a receive thread held on one packet is reported as
/// stalled, and stops being reported once it moves on.
/// </summary>
public sealed class UdpListenerStallTests
{
    [Theory]
    [MemberData(nameof(TestDataPlanes.Names), MemberType = typeof(TestDataPlanes))]
    public void Stall_WhileAThreadIsHeldOnOnePacket_IsReportedUntilItMovesOn(string dataPlane)
    {
        var harness = new TurnTestHarness();
        using var gate = new ManualResetEventSlim();
        harness.Handler.Reload(harness.Services with { Ports = new HeldPorts(harness.Ports, gate) });
        using var metrics = new TurnMetrics();
        IDataPlane listener = TestDataPlanes.Create(dataPlane);
        IUdpEndpoint endpoint = listener.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(IPAddress.Loopback, 0), -1));
        listener.Start(new PacketPath(harness.Handler, metrics));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        byte[] buffer = new byte[2048];

        try
        {
            client.SendTo(TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp), endpoint.LocalEndPoint);
            int length = client.Receive(buffer);
            TurnChallenge challenge = new TurnReply(buffer[..length]).Challenge;
            Assert.Null(listener.Stall(TimeSpan.FromMilliseconds(200)));

            // The authenticated Allocate holds the receive thread in the relay ports until the gate opens.
            client.SendTo(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge), endpoint.LocalEndPoint);
            string? stall = null;
            for (int i = 0; i < 100 && stall is null; i++)
            {
                Thread.Sleep(20);
                stall = listener.Stall(TimeSpan.FromMilliseconds(200));
            }

            Assert.NotNull(stall);
            Assert.Contains("on one", stall, StringComparison.Ordinal);

            gate.Set();
            length = client.Receive(buffer);
            Assert.True(new TurnReply(buffer[..length]).IsSuccess);

            // The thread clears its mark when it is back at its receive, just after the reply went out.
            for (int i = 0; i < 50 && stall is not null; i++)
            {
                Thread.Sleep(20);
                stall = listener.Stall(TimeSpan.FromMilliseconds(200));
            }

            Assert.Null(stall);
        }
        finally
        {
            gate.Set();
            listener.Dispose();
        }
    }

    /// <summary>Relay ports that hold each Open until the gate opens.</summary>
    private sealed class HeldPorts(IRelayPorts inner, ManualResetEventSlim gate) : IRelayPorts
    {
        public bool Supports(AddressFamily family) => inner.Supports(family);

        public IRelayEndpoint? Open(AddressFamily family, bool evenPort, bool reserveNext, bool dontFragment, out ulong reservationToken)
        {
            gate.Wait(TimeSpan.FromSeconds(10));
            return inner.Open(family, evenPort, reserveNext, dontFragment, out reservationToken);
        }

        public IRelayEndpoint? TakeReserved(ulong token) => inner.TakeReserved(token);
    }
}
