using Turn.Server;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>
/// Inputs from fuzzing with afl-fuzz (tests/Fuzz): those that once threw, hung or broke an
/// invariant there, and corpus entries that reached code no seed had. They are kept as hex under
/// Vectors/fuzz/TARGET/ (the format of the RFC vectors, with a comment saying where each came
/// from) and must be answered with a status, never an exception (RFC 8489 §6.3).
/// </summary>
public sealed class FuzzRegressionTests
{
    private static readonly byte[][] Keys = [VectorCredentials.ShortTermKey, VectorCredentials.Md5Key, VectorCredentials.Sha256Key];

    public static TheoryData<string> Stun => Names("stun");

    public static TheoryData<string> Framing => Names("framing");

    /// <summary>The files of Vectors/fuzz/<paramref name="folder"/>, by name.</summary>
    internal static TheoryData<string> Names(string folder)
    {
        string[] files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Vectors", "fuzz", folder), "*.hex");
        Array.Sort(files, StringComparer.Ordinal);
        var names = new TheoryData<string>();
        foreach (string file in files)
        {
            names.Add(Path.GetFileName(file));
        }

        return names;
    }

    internal static byte[] Load(string folder, string name) => Vectors.Load(Path.Combine("fuzz", folder, name));

    [Theory]
    [MemberData(nameof(Stun))]
    public void Datagram_IsParsedReadAndHandledWithAStatus(string name)
    {
        byte[] packet = Load("stun", name);
        StunParseStatus status = StunMessage.TryParse(packet, out StunMessage message);
        Assert.True(Enum.IsDefined(status), $"status {status}");
        if (status == StunParseStatus.Ok)
        {
            ReadEveryAttribute(message);
        }

        // As a UDP listener hands it over: to a fresh server, then to one where this client has an allocation, a permission and a channel.
        Handle(new TurnTestHarness(ipv6: true), packet, status);
        var allocated = new TurnTestHarness(ipv6: true);
        allocated.AllocateOk();
        allocated.CreatePermission(TurnTestHarness.PublicPeer);
        allocated.ChannelBind(TurnTestHarness.Channel, TurnTestHarness.PublicPeer);
        Handle(allocated, packet, status);
    }

    [Theory]
    [MemberData(nameof(Framing))]
    public void Stream_CutsTheSameFramesWholeAndSplitAtEveryByte(string name)
    {
        byte[] stream = Load("framing", name);
        var whole = new List<(PacketKind Kind, int Length)>();
        FrameStatus end = Cut(stream, whole, out _);
        for (int split = 0; split <= stream.Length; split++)
        {
            // Two reads: the first ends at split, the second brings the rest.
            var frames = new List<(PacketKind Kind, int Length)>();
            FrameStatus first = Cut(stream.AsSpan(0, split), frames, out int consumed);
            FrameStatus last = first == FrameStatus.Invalid ? first : Cut(stream.AsSpan(consumed), frames, out _);
            Assert.Equal(end, last);
            Assert.Equal(whole, frames);
        }
    }

    private static void Handle(TurnTestHarness server, byte[] packet, StunParseStatus status)
    {
        if (PacketClassifier.Classify(packet) == PacketKind.ChannelData)
        {
            Assert.Equal(0, server.Handler.ChannelData(packet, server.Context()).Length);
            return;
        }

        (HandleResult result, TurnReply? reply) = server.Exchange(packet);
        Assert.True(Enum.IsDefined(result.Outcome), $"outcome {result.Outcome}");
        if (reply is not null)
        {
            Assert.Equal(StunParseStatus.Ok, status);
            Assert.Equal(packet.AsSpan(4, 16).ToArray(), reply.Parse().CookieAndTransactionId.ToArray());
        }
    }

    /// <summary>Frame after frame from the start, as a TCP connection takes them; each frame must parse as what it was framed as.</summary>
    private static FrameStatus Cut(ReadOnlySpan<byte> buffered, List<(PacketKind Kind, int Length)> frames, out int consumed)
    {
        consumed = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = buffered[consumed..];
            FrameStatus status = StreamFraming.TryGetFrame(rest, out int frameLength, out PacketKind kind);
            Assert.InRange(frameLength, 0, StreamFraming.MaxFrameLength);
            if (status != FrameStatus.Complete)
            {
                return status;
            }

            Assert.InRange(frameLength, ChannelData.HeaderLength, rest.Length);
            ReadOnlySpan<byte> frame = rest[..frameLength];
            if (kind == PacketKind.Stun)
            {
                Assert.DoesNotContain(StunMessage.TryParse(frame, out _), new[] { StunParseStatus.Truncated, StunParseStatus.BadLength, StunParseStatus.NotStun });
            }
            else
            {
                Assert.True(ChannelData.TryParse(frame, out _, out ReadOnlySpan<byte> data));
                Assert.Equal(frameLength - ChannelData.HeaderLength, Padding.Pad4(data.Length));
            }

            frames.Add((kind, frameLength));
            consumed += frameLength;
        }
    }

    private static void ReadEveryAttribute(in StunMessage message)
    {
        Span<ushort> list = stackalloc ushort[16];
        foreach (StunAttribute attribute in message.Attributes)
        {
            ReadOnlySpan<byte> value = attribute.Value;
            AddressAttribute.TryRead(value, out _);
            AddressAttribute.TryReadXor(value, message.CookieAndTransactionId, out _);
            ErrorCodeAttribute.TryRead(value, out _, out _);
            ErrorCodeAttribute.TryReadAddressError(value, out _, out _, out _);
            TextAttribute.IsValid(value, TextAttribute.MaxBytes((StunAttributeType)attribute.Type));
            Assert.True(!UnknownAttributes.TryRead(value, list, out int unknown) || unknown <= list.Length);
            Assert.True(!PasswordAlgorithm.TryReadList(value, list, out int algorithms) || algorithms <= list.Length);
            PasswordAlgorithm.TryRead(value, out _);
            TurnAttributes.TryReadChannelNumber(value, out _);
            TurnAttributes.TryReadLifetime(value, out _);
            TurnAttributes.TryReadRequestedTransport(value, out _);
            TurnAttributes.TryReadAddressFamily(value, out _);
            TurnAttributes.TryReadEvenPort(value, out _);
            TurnAttributes.TryReadReservationToken(value, out _);
            TurnAttributes.TryReadIcmp(value, out _, out _, out _);
            TurnAttributes.TryReadConnectionId(value, out _);
            NatBehaviorAttributes.TryReadChangeRequest(value, out _, out _);
            NatBehaviorAttributes.TryReadResponsePort(value, out _);
        }

        foreach (byte[] key in Keys)
        {
            MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, key);
            MessageIntegrity.Verify(message.Raw, message.IntegritySha256Offset, sha256: true, key);
        }

        Assert.InRange(message.CollectUnknownRequired(KnownAttributes.Basic, list), 0, list.Length);
    }
}
