using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Turn.Tests.Interop;
using Turn.Tests.Server;
using Turn.Tests.Transport;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// The daemon as a reflector: what one source can make it send with requests that need no
/// credentials is bounded by the per-source byte budget, those answers are barely larger than the
/// requests, and another source is answered all the while.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class ReflectionAttackTests
{
    private const int Budget = 16384;

    [Fact]
    public async Task BindingFloodFromOneSource_GetsAtMostTheBudget_WhileAnotherSourceIsAnswered()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync();
        using var flooder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        flooder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        long received = 0;
        int answers = 0;
        using var stop = new CancellationTokenSource();
        Task counting = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    int length = await flooder.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                    Interlocked.Add(ref received, length);
                    Interlocked.Increment(ref answers);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        // 20,000 twenty-byte Binding requests (400 KB) over about two seconds, bounded in count and time.
        byte[] request = Binding();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 20_000 && clock.Elapsed < TimeSpan.FromSeconds(4); i++)
        {
            RandomNumberGenerator.Fill(request.AsSpan(8, 12));
            flooder.SendTo(request, daemon.Udp4);
            if (i % 100 == 99)
            {
                await Task.Delay(10);
            }
        }

        TimeSpan flood = clock.Elapsed;

        // Another source, during the same second, is answered.
        using var other = new StunClientSocket(IPAddress.Parse("127.0.0.2"));
        other.Send(Binding(), daemon.Udp4);
        (byte[] answer, _) = other.Receive();
        Assert.Equal(32, answer.Length);

        await Task.Delay(300);
        await stop.CancelAsync();
        await counting;
        double allowed = Budget * (flood.TotalSeconds + 1.3) + 64;
        Assert.True(received <= allowed, $"{received} bytes answered to one source in {flood.TotalSeconds:F1} s, budget {Budget} B/s ({allowed:F0})");
        Assert.True(answers > 100, $"only {answers} answers: the budget should answer about {Budget / 32} a second");
    }

    [Fact]
    public async Task UnauthenticatedAnswers_CarryOnlyWhatTheRfcsRequire()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync();
        using var client = new StunClientSocket(IPAddress.Loopback);

        // A bare 20-byte Binding request: 32 bytes back (1.6 times), no SOFTWARE, no FINGERPRINT.
        client.Send(Binding(), daemon.Udp4);
        TurnReply binding = new(client.Receive().Data);
        Assert.Equal(32, binding.Raw.Length);
        Assert.False(binding.Has(StunAttributeType.Software));

        // A 28-byte Allocate: a 401 with ERROR-CODE, REALM, NONCE and PASSWORD-ALGORITHMS only.
        byte[] allocate = new byte[28];
        var writer = StunWriter.Create(allocate, StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId());
        TurnMessages.RequestedTransportUdp(ref writer);
        client.Send(allocate[..writer.Length], daemon.Udp4);
        TurnReply challenge = new(client.Receive().Data);
        Assert.Equal(401, challenge.ErrorCode);
        Assert.False(challenge.Has(StunAttributeType.Software));
        Assert.False(challenge.HasFingerprint);
        Assert.True(challenge.Raw.Length <= 20 + 20 + 4 + 12 + 36 + 12, $"a {challenge.Raw.Length}-byte 401 for a 28-byte request");

        // Signed answers still identify the server.
        await using TurnTestClient alice = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        TurnReply refresh = await alice.RequestAsync(StunMethod.Allocate, TurnMessages.RequestedTransportUdp);
        Assert.True(refresh.Has(StunAttributeType.Software));
    }

    [Fact]
    public async Task ASpentSource_GetsNoMoreChallenges_ButItsAllocationStillRefreshes()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Auth"]!["UnauthenticatedBytesPerSecond"] = 2000);
        await using TurnTestClient alice = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        await alice.AllocateAsync();

        // The same address, another port: 60 unauthenticated Allocates at once spend the budget.
        using var mallory = new StunClientSocket(IPAddress.Loopback);
        mallory.Socket.ReceiveTimeout = 500;
        for (int i = 0; i < 60; i++)
        {
            mallory.Send(TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp), daemon.Udp4);
        }

        // Alice's allocation is on its own five-tuple: only she can have made it, so she is answered.
        TurnReply refresh = await alice.RequestAsync(StunMethod.Refresh, null);
        Assert.True(refresh.IsSuccess, refresh.ToString());

        int answered = 0;
        try
        {
            while (answered < 60)
            {
                mallory.Receive();
                answered++;
            }
        }
        catch (SocketException)
        {
        }

        // About 2,000 bytes of 401s, and a few more as the budget refills: never all 60.
        Assert.InRange(answered, 10, 35);
    }

    private static byte[] Binding()
    {
        byte[] request = new byte[20];
        StunWriter.Create(request, StunMethod.Binding, StunClass.Request, TurnMessages.TransactionId());
        return request;
    }
}
