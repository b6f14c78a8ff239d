using System.Net;
using Turn.Auth;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>
/// A TURN server with no sockets: the real <see cref="StunRequestHandler"/>, allocation table,
/// authenticator and peer filter, with fake relay ports and a fake client transport that record
/// instead of sending, and a clock the test sets. The server listens on 192.0.2.10:3478, relays
/// from 192.0.2.10 (and 2001:db8::10) on 49152-65535, and its peer filter is built as production
/// builds it. Client helpers do what a real client does: send the request unsigned, read REALM,
/// NONCE and PASSWORD-ALGORITHMS from the 401, and sign the request again with the long-term key.
/// </summary>
internal sealed class TurnTestHarness
{
    public const string Realm = "turn.example.org";
    public const string Software = "turn tests";
    public const ushort Channel = 0x4000;

    public static readonly TurnCredentials Alice = new("alice", "alice-password");
    public static readonly TurnCredentials Bob = new("bob", "bob-password");
    public static readonly string[] Secrets = ["rest-secret-one", "rest-secret-two"];

    public static readonly StunAddress ServerAddress = At("192.0.2.10", 3478);
    public static readonly StunAddress DefaultClient = At("198.51.100.7", 40000);
    public static readonly StunAddress PublicPeer = At("8.8.8.8", 5000);
    public static readonly StunAddress OtherPublicPeer = At("8.8.4.4", 5000);
    public static readonly StunAddress PublicPeer6 = At("2606:4700::1111", 5000);

    private readonly byte[] _response = new byte[4096];

    public TurnTestHarness(RelayLimits? limits = null, bool ipv4 = true, bool ipv6 = false, int nonceLifetimeSeconds = 600, PeerFilter? peers = null, SourceBudget? unauthenticatedBudget = null)
    {
        Ports = new TurnFakeRelayPorts(ipv4, ipv6);
        var users = new Dictionary<string, string> { [Alice.Username] = Alice.Password, [Bob.Username] = Bob.Password };
        Nonces = new NonceService(new byte[32], nonceLifetimeSeconds);
        Authenticator = new Authenticator(new CredentialStore(Realm, users, Secrets), Nonces);
        Allocations = new AllocationTable();
        Limits = limits ?? new RelayLimits();
        Services = new RelayServices(Authenticator, Allocations, Ports, peers ?? ProductionPeerFilter(), Limits, RelayAddressMap.None, unauthenticatedBudget);
        Handler = new StunRequestHandler(new StunServerSettings(Software, null), Services);
        Sweeper = new ExpirySweeper(Allocations);
    }

    public TurnFakeRelayPorts Ports { get; }

    public TurnFakeClientTransport Transport { get; } = new();

    public NonceService Nonces { get; }

    public Authenticator Authenticator { get; }

    public AllocationTable Allocations { get; }

    public RelayLimits Limits { get; }

    public RelayServices Services { get; }

    public StunRequestHandler Handler { get; }

    public ExpirySweeper Sweeper { get; }

    /// <summary>Monotonic milliseconds handed to the handler.</summary>
    public long NowMs { get; set; } = 5_000_000;

    /// <summary>Wall-clock seconds handed to the handler (2023-11-14).</summary>
    public long UnixSeconds { get; set; } = 1_700_000_000;

    /// <summary>The address requests come from unless a test names another.</summary>
    public StunAddress Client { get; set; } = DefaultClient;

    /// <summary>The peer filter of a server listening on 192.0.2.10:3478 and relaying from 192.0.2.10 on 49152-65535, as RelayComposition builds it.</summary>
    public static PeerFilter ProductionPeerFilter(bool allowLoopback = false)
        => new(
            PeerFilter.DefaultDenied,
            [],
            [ServerAddress],
            [ServerAddress.WithPort(0), At(TurnFakeRelayPorts.Relay4.ToString(), 0), At(TurnFakeRelayPorts.Relay6.ToString(), 0)],
            TurnFakeRelayPorts.MinPort,
            TurnFakeRelayPorts.MaxPort,
            allowLoopback);

    public static StunAddress At(string ip, int port) => StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    public static TurnCredentials RestUser(long expiryUnixSeconds, string user, string secret)
    {
        string username = RestCredentials.Username(expiryUnixSeconds, user);
        return new TurnCredentials(username, RestCredentials.Password(secret, username));
    }

    public void Advance(int seconds)
    {
        NowMs += seconds * 1000L;
        UnixSeconds += seconds;
    }

    /// <summary>The one periodic sweep, run now.</summary>
    public int Sweep() => Sweeper.Sweep(NowMs);

    public RequestContext Context(StunAddress? source = null)
        => new(TransportProtocol.Udp, source ?? Client, ServerAddress, -1)
        {
            NowMs = NowMs,
            UnixSeconds = UnixSeconds,
            Client = Transport,
        };

    /// <summary>Hands a STUN packet to the handler; the response, if any, is copied out.</summary>
    public (HandleResult Result, TurnReply? Reply) Exchange(byte[] packet, StunAddress? source = null)
    {
        HandleResult result = Handler.Handle(packet, Context(source), _response);
        return (result, result.Length > 0 ? new TurnReply(_response.AsSpan(0, result.Length).ToArray()) : null);
    }

    /// <summary>Hands a request to the handler and returns the response, which there must be.</summary>
    public TurnReply Request(byte[] packet, StunAddress? source = null)
    {
        (HandleResult result, TurnReply? reply) = Exchange(packet, source);
        Assert.True(reply is not null, $"no response; outcome {result.Outcome}");
        Assert.Equal(reply.IsSuccess ? Outcome.Answered : Outcome.Rejected, result.Outcome);
        return reply;
    }

    /// <summary>
    /// The first half of the long-term credential dance (RFC 8489 §9.2.3): the request goes out
    /// without credentials, and the 401 brings REALM, NONCE and PASSWORD-ALGORITHMS.
    /// </summary>
    public TurnChallenge Challenge(StunMethod method = StunMethod.Allocate, TurnAttributeWriter? attributes = null, StunAddress? source = null)
    {
        TurnReply reply = Request(TurnMessages.Unsigned(method, StunClass.Request, TurnMessages.TransactionId(), attributes ?? TurnMessages.RequestedTransportUdp), source);
        Assert.Equal(401, reply.ErrorCode);
        return reply.Challenge;
    }

    /// <summary>A signed request after a fresh challenge, not yet sent.</summary>
    public byte[] Signed(StunMethod method, TurnAttributeWriter? attributes, TurnCredentials? credentials = null, StunAddress? source = null, byte[]? transactionId = null, TurnOmit omit = TurnOmit.None)
    {
        TurnChallenge challenge = Challenge(method, attributes, source);
        return TurnMessages.Signed(method, transactionId ?? TurnMessages.TransactionId(), attributes, credentials ?? Alice, challenge, omit);
    }

    /// <summary>The whole dance: challenge, then the signed request; returns the answer to the signed one.</summary>
    public TurnReply Call(StunMethod method, TurnAttributeWriter? attributes, TurnCredentials? credentials = null, StunAddress? source = null)
        => Request(Signed(method, attributes, credentials, source), source);

    public TurnReply Allocate(TurnCredentials? credentials = null, TurnAttributeWriter? extra = null, StunAddress? source = null)
        => Call(
            StunMethod.Allocate,
            (ref StunWriter w) =>
            {
                TurnMessages.RequestedTransportUdp(ref w);
                extra?.Invoke(ref w);
            },
            credentials,
            source);

    /// <summary>Allocates and asserts it worked.</summary>
    public TurnReply AllocateOk(TurnCredentials? credentials = null, TurnAttributeWriter? extra = null, StunAddress? source = null)
    {
        TurnReply reply = Allocate(credentials, extra, source);
        Assert.True(reply.IsSuccess, $"Allocate failed: {reply}");
        return reply;
    }

    /// <summary>An IPv4 and IPv6 allocation (ADDITIONAL-ADDRESS-FAMILY IPv6), for ports that support both.</summary>
    public TurnReply AllocateDualOk(TurnCredentials? credentials = null, StunAddress? source = null)
        => AllocateOk(credentials, (ref StunWriter w) => w.AddByteReserved(StunAttributeType.AdditionalAddressFamily, AddressAttribute.FamilyIPv6), source);

    public TurnReply Refresh(uint? lifetime, TurnCredentials? credentials = null, TurnAttributeWriter? extra = null, StunAddress? source = null)
        => Call(
            StunMethod.Refresh,
            (ref StunWriter w) =>
            {
                if (lifetime is uint seconds)
                {
                    w.AddUInt32(StunAttributeType.Lifetime, seconds);
                }

                extra?.Invoke(ref w);
            },
            credentials,
            source);

    public TurnReply CreatePermission(params StunAddress[] peers) => CreatePermission(null, peers);

    public TurnReply CreatePermission(TurnCredentials? credentials, params StunAddress[] peers)
        => Call(
            StunMethod.CreatePermission,
            (ref StunWriter w) =>
            {
                foreach (StunAddress peer in peers)
                {
                    w.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
                }
            },
            credentials);

    public TurnReply ChannelBind(ushort channel, StunAddress peer, TurnCredentials? credentials = null)
        => Call(
            StunMethod.ChannelBind,
            (ref StunWriter w) =>
            {
                w.AddUInt16Reserved(StunAttributeType.ChannelNumber, channel);
                w.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
            },
            credentials);

    /// <summary>A Send indication from the client; nothing is ever answered, so only the outcome is returned.</summary>
    public Outcome SendIndication(StunAddress peer, byte[] data, StunAddress? source = null)
    {
        (HandleResult result, TurnReply? reply) = Exchange(TurnMessages.SendIndication(peer, data), source);
        Assert.Null(reply);
        return result.Outcome;
    }

    /// <summary>ChannelData from the client, as the transport hands it over.</summary>
    public Outcome ChannelData(ushort channel, byte[] data, StunAddress? source = null)
    {
        HandleResult result = Handler.ChannelData(TurnMessages.ChannelData(channel, data), Context(source));
        Assert.Equal(0, result.Length);
        return result.Outcome;
    }

    /// <summary>The allocation on the client's five-tuple.</summary>
    public Allocation AllocationOf(StunAddress? source = null)
    {
        Assert.True(Allocations.TryGet(Context(source).FiveTuple, out Allocation allocation), "no allocation on the five-tuple");
        return allocation;
    }

    /// <summary>Everything the fake relay endpoints were asked to send, in order.</summary>
    public List<(byte[] Data, StunAddress Peer)> SentToPeers()
    {
        var all = new List<(byte[] Data, StunAddress Peer)>();
        foreach (TurnFakeRelayEndpoint endpoint in Ports.Opened)
        {
            all.AddRange(endpoint.Sent);
        }

        return all;
    }
}
