using System.Buffers.Binary;
using System.Net;
using Turn.Auth;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Fuzz;

/// <summary>
/// A TURN server with no sockets, built afresh for each input so that no run depends on the one
/// before: the real <see cref="StunRequestHandler"/>, authenticator, allocation table and peer
/// filter, with relay ports and a client transport that send nothing. Addresses, user, realm, nonce
/// key and clock are those of tests/Turn.Tests' TurnTestHarness, so a request this signs is valid
/// there too and a finding can become a unit test as it is. The last byte of the transaction ID
/// (byte 19) picks the setting, so that afl-fuzz reaches each by flipping a bit: bit 0 TCP instead of UDP,
/// bit 1 an RFC 5780 grid with bits 2-3 the socket's role, bit 4 an allocation (dual-stack, with
/// permissions for 8.8.8.8 and 2606:4700::1111 and channel 0x4000 bound to 8.8.8.8:5000) made
/// before the input arrives, bit 5 SHA-256 credentials, bit 6 an IPv6 client.
/// </summary>
internal sealed class FuzzServer
{
    public const string Realm = "turn.example.org";
    public const string Username = "alice";
    public const string Password = "alice-password";
    public const ushort Channel = 0x4000;

    private const int TcpSetting = 0x01;
    private const int NatGridSetting = 0x02;
    private const int AllocatedSetting = 0x10;
    private const int Sha256Setting = 0x20;
    private const int Ipv6ClientSetting = 0x40;

    /// <summary>What signing adds, with room to spare: USERNAME, REALM, NONCE, both PASSWORD-ALGORITHM attributes, MESSAGE-INTEGRITY-SHA256, FINGERPRINT.</summary>
    private const int SignatureRoom = 160;

    private const long NowMs = 5_000_000;
    private const long UnixSeconds = 1_700_000_000;

    public static readonly StunAddress ServerAddress = At("192.0.2.10", 3478);
    public static readonly StunAddress Client4 = At("198.51.100.7", 40000);
    public static readonly StunAddress Client6 = At("2001:db8::7", 40000);
    public static readonly StunAddress Peer4 = At("8.8.8.8", 5000);
    public static readonly StunAddress Peer6 = At("2606:4700::1111", 5000);

    public static readonly byte[] Md5Key = LongTermKey.Derive(PasswordAlgorithm.Md5, Username, Realm, Password)!;
    public static readonly byte[] Sha256Key = LongTermKey.Derive(PasswordAlgorithm.Sha256, Username, Realm, Password)!;

    /// <summary>The key of the captured seeds' user ("alice", "secret-password-1", realm "example.org"), so that their integrity verifies.</summary>
    public static readonly byte[] SeedKey = LongTermKey.Derive(PasswordAlgorithm.Md5, Username, "example.org", "secret-password-1")!;

    private static readonly NatBehaviorAddresses Grid = new(ServerAddress, At("192.0.2.11", 3478), 3479);

    private static readonly Authenticator Authenticator = new(
        new CredentialStore(Realm, new Dictionary<string, string> { [Username] = Password }, ["rest-secret-one", "rest-secret-two"]),
        new NonceService(new byte[32], 600));

    private static readonly PeerFilter Peers = new(
        PeerFilter.DefaultDenied,
        [],
        [ServerAddress],
        [ServerAddress.WithPort(0), FuzzRelayPorts.Relay4, FuzzRelayPorts.Relay6],
        FuzzRelayPorts.MinPort,
        FuzzRelayPorts.MaxPort,
        allowLoopback: false);

    /// <summary>As large as the listeners' response buffers, so a response that would not fit there does not fit here.</summary>
    private static readonly byte[] Response = new byte[2048];

    private static readonly byte[] Request = new byte[StunHeader.MaxMessageLength];

    private readonly StunRequestHandler _handler;
    private readonly NatBehaviorAddresses? _grid;

    private FuzzServer(bool natGrid)
    {
        _grid = natGrid ? Grid : null;
        var relay = new RelayServices(Authenticator, new AllocationTable(), new FuzzRelayPorts(), Peers, new RelayLimits(), RelayAddressMap.None);
        _handler = new StunRequestHandler(new StunServerSettings("turn", _grid), relay);
    }

    public static StunAddress At(string ip, int port) => StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    /// <summary>
    /// The input as a listener hands it over: ChannelData to the ChannelData path, anything else to
    /// <see cref="StunRequestHandler.Handle"/>. A TURN request is then signed again with valid
    /// credentials and a fresh nonce and handled once more, so that the fuzzed attributes reach the
    /// method handlers behind the authentication.
    /// </summary>
    public static void Exchange(ReadOnlySpan<byte> input)
    {
        byte setting = input.Length >= StunHeader.Length ? input[StunHeader.Length - 1] : (byte)0;
        bool sha256 = (setting & Sha256Setting) != 0;
        var server = new FuzzServer((setting & NatGridSetting) != 0);
        RequestContext context = server.Context(setting);
        bool channelData = PacketClassifier.Classify(input) == PacketKind.ChannelData;
        if (channelData || (setting & AllocatedSetting) != 0)
        {
            server.Allocate(context, sha256);
        }

        if (channelData)
        {
            HandleResult relayed = server._handler.ChannelData(input, context);
            Invariant.Holds(relayed.Length == 0, "ChannelData is never answered");
            return;
        }

        CheckResponse(input, server._handler.Handle(input, context, Response), key: null);
        if (StunMessage.TryParse(input, out StunMessage message) != StunParseStatus.Ok
            || message.Class != StunClass.Request || !message.HasMagicCookie || message.Method == StunMethod.Binding)
        {
            return;
        }

        int length = SignAgain(message, context.Source, sha256);
        if (length > 0)
        {
            ReadOnlySpan<byte> signed = Request.AsSpan(0, length);
            CheckResponse(signed, server._handler.Handle(signed, context, Response), sha256 ? Sha256Key : Md5Key);
        }
    }

    private RequestContext Context(byte setting)
    {
        int role = _grid is null ? -1 : (setting >> 2) & 3;
        return new RequestContext(
            (setting & TcpSetting) != 0 ? TransportProtocol.Tcp : TransportProtocol.Udp,
            (setting & Ipv6ClientSetting) != 0 ? Client6 : Client4,
            role >= 0 ? _grid![role] : ServerAddress,
            role)
        {
            NowMs = NowMs,
            UnixSeconds = UnixSeconds,
            Client = new FuzzClientTransport(),
        };
    }

    /// <summary>What a client does first (RFC 8656 §7, §9, §12): a dual-stack allocation, two permissions and a channel.</summary>
    private void Allocate(in RequestContext context, bool sha256)
    {
        Span<byte> transactionId = stackalloc byte[StunHeader.TransactionIdLength];
        transactionId.Fill(0xA5);

        transactionId[^1] = 1;
        var allocate = StunWriter.Create(Request, StunMethod.Allocate, StunClass.Request, transactionId);
        allocate.AddByteReserved(StunAttributeType.RequestedTransport, TurnAttributes.ProtocolUdp);
        allocate.AddByteReserved(StunAttributeType.AdditionalAddressFamily, AddressAttribute.FamilyIPv6);
        Expect(ref allocate, context, sha256, "the harness's Allocate");

        transactionId[^1] = 2;
        var permission = StunWriter.Create(Request, StunMethod.CreatePermission, StunClass.Request, transactionId);
        permission.AddXorAddress(StunAttributeType.XorPeerAddress, Peer4);
        permission.AddXorAddress(StunAttributeType.XorPeerAddress, Peer6);
        Expect(ref permission, context, sha256, "the harness's CreatePermission");

        transactionId[^1] = 3;
        var bind = StunWriter.Create(Request, StunMethod.ChannelBind, StunClass.Request, transactionId);
        bind.AddUInt16Reserved(StunAttributeType.ChannelNumber, Channel);
        bind.AddXorAddress(StunAttributeType.XorPeerAddress, Peer4);
        Expect(ref bind, context, sha256, "the harness's ChannelBind");
    }

    private void Expect(ref StunWriter writer, in RequestContext context, bool sha256, string what)
    {
        Sign(ref writer, context.Source, sha256);
        HandleResult result = _handler.Handle(writer.Written, context, Response);
        Invariant.Holds(result.Outcome == Outcome.Answered, what + " succeeds");
    }

    /// <summary>The request's own attributes less its credentials, then valid credentials; 0 when they would not fit.</summary>
    private static int SignAgain(in StunMessage message, StunAddress source, bool sha256)
    {
        var writer = new StunWriter(Request, message.MessageType, message.CookieAndTransactionId);
        foreach (StunAttribute attribute in message.Attributes)
        {
            if (attribute.Type is (ushort)StunAttributeType.Username or (ushort)StunAttributeType.UserHash
                or (ushort)StunAttributeType.Realm or (ushort)StunAttributeType.Nonce
                or (ushort)StunAttributeType.PasswordAlgorithm or (ushort)StunAttributeType.PasswordAlgorithms)
            {
                continue;
            }

            if (writer.Length + 4 + Padding.Pad4(attribute.Value.Length) + SignatureRoom > StunHeader.MaxMessageLength)
            {
                return 0;
            }

            writer.AddBytes((StunAttributeType)attribute.Type, attribute.Value);
        }

        Sign(ref writer, source, sha256);
        return writer.Length;
    }

    /// <summary>RFC 8489 §9.2.3: USERNAME, REALM, a nonce this server issued, with SHA-256 the algorithms offered and the one chosen, then the integrity and FINGERPRINT.</summary>
    private static void Sign(ref StunWriter writer, StunAddress source, bool sha256)
    {
        writer.AddText(StunAttributeType.Username, Username);
        writer.AddText(StunAttributeType.Realm, Realm);
        Span<byte> nonce = stackalloc byte[64];
        int nonceLength = Authenticator.Nonces.Create(source, UnixSeconds, nonce);
        writer.AddBytes(StunAttributeType.Nonce, nonce[..nonceLength]);
        if (sha256)
        {
            PasswordAlgorithm.WriteList(writer.Reserve(StunAttributeType.PasswordAlgorithms, CredentialStore.Algorithms.Length * 4), CredentialStore.Algorithms);
            BinaryPrimitives.WriteUInt32BigEndian(writer.Reserve(StunAttributeType.PasswordAlgorithm, 4), (uint)PasswordAlgorithm.Sha256 << 16);
            writer.AddMessageIntegritySha256(Sha256Key);
        }
        else
        {
            writer.AddMessageIntegrity(Md5Key);
        }

        writer.AddFingerprint();
    }

    /// <summary>Whatever the server answers is a well-formed response to that request, signed with the request's key when it is signed.</summary>
    private static void CheckResponse(ReadOnlySpan<byte> request, in HandleResult result, byte[]? key)
    {
        Invariant.Holds(result.Length >= 0 && result.Length <= Response.Length, "a response fits the buffer");
        if (result.Length == 0)
        {
            return;
        }

        Invariant.Holds(StunMessage.TryParse(request, out StunMessage asked) == StunParseStatus.Ok && asked.Class == StunClass.Request, "only a request is answered");
        Invariant.Holds(StunMessage.TryParse(Response.AsSpan(0, result.Length), out StunMessage answer) == StunParseStatus.Ok, "a response parses");
        Invariant.Holds(
            answer.Method == asked.Method && answer.CookieAndTransactionId.SequenceEqual(asked.CookieAndTransactionId),
            "a response carries the request's method and transaction ID");
        Invariant.Holds(answer.Class is StunClass.SuccessResponse or StunClass.ErrorResponse, "a response is a success or an error");
        Invariant.Holds((answer.Class == StunClass.SuccessResponse) == (result.Outcome == Outcome.Answered), "the outcome says what the response is");
        if (answer.Class == StunClass.ErrorResponse)
        {
            Invariant.Holds(
                answer.TryGetAttribute(StunAttributeType.ErrorCode, out ReadOnlySpan<byte> error)
                    && ErrorCodeAttribute.TryRead(error, out int code, out _) && code == result.Code,
                "an error response carries the ERROR-CODE the handler reports");
        }

        if (key is not null && answer.IntegrityOffset >= 0)
        {
            Invariant.Holds(MessageIntegrity.Verify(answer.Raw, answer.IntegrityOffset, sha256: false, key), "MESSAGE-INTEGRITY of a response verifies");
        }

        if (key is not null && answer.IntegritySha256Offset >= 0)
        {
            Invariant.Holds(MessageIntegrity.Verify(answer.Raw, answer.IntegritySha256Offset, sha256: true, key), "MESSAGE-INTEGRITY-SHA256 of a response verifies");
        }
    }
}
