using System.Buffers.Binary;
using System.Text;
using Turn.Auth;
using Turn.Server;
using Turn.Wire;

namespace Turn.Fuzz;

/// <summary>
/// One datagram as a listener receives it. First the codec: the classifier, ChannelData, the STUN
/// parser, the reader of every attribute the message carries (each read value written back must
/// give the same bytes), MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT, and the message re-encoded
/// by <see cref="StunWriter"/> and parsed again. Then the request handler (<see cref="FuzzServer"/>).
/// </summary>
internal static class StunTarget
{
    private const int MaxUnknown = 16;

    /// <summary>The keys of the RFC 5769 and RFC 8489 vectors and of the captured seeds, so that their integrity verifies.</summary>
    private static readonly byte[][] Keys =
    [
        Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt"),
        LongTermKey.Derive(PasswordAlgorithm.Md5, "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "example.org", "The\u00ADM\u00AAtr\u2168")!,
        LongTermKey.Derive(PasswordAlgorithm.Sha256, "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "example.org", "The\u00ADM\u00AAtr\u2168")!,
        FuzzServer.SeedKey,
        FuzzServer.Md5Key,
        FuzzServer.Sha256Key,
    ];

    private static readonly byte[] Reencoded = new byte[StunHeader.MaxMessageLength];

    private static readonly byte[] Refingerprinted = new byte[ushort.MaxValue + StunHeader.Length];

    /// <summary>
    /// The input as it is, then, when it ends in a FINGERPRINT that no longer matches, with the
    /// FINGERPRINT computed again: afl-fuzz cannot fix a CRC, and without this nearly every mutation
    /// of a captured packet would stop at the fingerprint check.
    /// </summary>
    public static void Run(ReadOnlySpan<byte> input)
    {
        Codec(input);
        if (input.Length < StunHeader.Length + 8 || input.Length > Refingerprinted.Length
            || BinaryPrimitives.ReadUInt16BigEndian(input[^8..]) != (ushort)StunAttributeType.Fingerprint
            || BinaryPrimitives.ReadUInt16BigEndian(input[^6..]) != 4
            || BinaryPrimitives.ReadUInt32BigEndian(input[^4..]) == Fingerprint.Compute(input[..^8]))
        {
            FuzzServer.Exchange(input);
            return;
        }

        Span<byte> fixedUp = Refingerprinted.AsSpan(0, input.Length);
        input.CopyTo(fixedUp);
        BinaryPrimitives.WriteUInt32BigEndian(fixedUp[^4..], Fingerprint.Compute(fixedUp[..^8]));
        Codec(fixedUp);
        FuzzServer.Exchange(fixedUp);
    }

    private static void Codec(ReadOnlySpan<byte> input)
    {
        PacketKind kind = PacketClassifier.Classify(input);
        if (ChannelData.TryParse(input, out ushort channel, out ReadOnlySpan<byte> data))
        {
            Invariant.Holds(kind == PacketKind.ChannelData, "only what is classified ChannelData parses as ChannelData");
            Invariant.Holds(channel is >= TurnAttributes.MinChannel and <= TurnAttributes.MaxChannel, "a parsed channel number is in range");
            Invariant.Holds(data.Length == BinaryPrimitives.ReadUInt16BigEndian(input[2..]), "ChannelData carries the length its header says");
        }

        StunParseStatus status = StunMessage.TryParse(input, out StunMessage message);
        Invariant.Holds(Enum.IsDefined(status), "the parser answers a known status");
        Invariant.Holds((status == StunParseStatus.NotStun) == (kind is not PacketKind.Stun && !input.IsEmpty), "the parser and the classifier agree on what is STUN");
        if (status != StunParseStatus.Ok)
        {
            return;
        }

        Invariant.Holds(input.Length >= StunHeader.Length && input.Length == StunHeader.Length + StunHeader.ReadLength(input), "a parsed message fills the datagram");
        _ = message.Method;
        _ = message.Class;
        Invariant.Holds(message.TransactionId.Length == StunHeader.TransactionIdLength, "a transaction ID is 96 bits");

        Span<byte> scratch = stackalloc byte[4 + ErrorCodeAttribute.MaxReasonBytes];
        Span<ushort> list = stackalloc ushort[MaxUnknown];
        int end = StunHeader.Length;
        foreach (StunAttribute attribute in message.Attributes)
        {
            Invariant.Holds(attribute.Offset == end, "attributes are walked in order, none skipped");
            Invariant.Holds(attribute.Offset + 4 + attribute.Value.Length <= input.Length, "an attribute lies inside the message");
            end = attribute.Offset + 4 + Padding.Pad4(attribute.Value.Length);
            Read(attribute, message.CookieAndTransactionId, scratch, list);
        }

        int firstTrailer = FirstOf(message.IntegrityOffset, message.IntegritySha256Offset, message.FingerprintOffset);
        Invariant.Holds(end == (firstTrailer < 0 ? input.Length : firstTrailer), "the attributes that count end where the integrity or fingerprint begins");
        if (message.FingerprintOffset >= 0)
        {
            Invariant.Holds(message.FingerprintOffset + 8 == input.Length, "FINGERPRINT is last");
            Invariant.Holds(Fingerprint.Verify(input, message.FingerprintOffset), "a parsed FINGERPRINT verifies");
        }

        foreach (byte[] key in Keys)
        {
            MessageIntegrity.Verify(input, message.IntegrityOffset, sha256: false, key);
            MessageIntegrity.Verify(input, message.IntegritySha256Offset, sha256: true, key);
        }

        TextAttribute.TryRead(message, StunAttributeType.Username, out _);
        TextAttribute.TryRead(message, StunAttributeType.Realm, out _);
        TextAttribute.TryRead(message, StunAttributeType.Nonce, out _);
        TextAttribute.TryRead(message, StunAttributeType.Software, out _);
        Invariant.Holds(message.CollectUnknownRequired(KnownAttributes.Basic, list) <= list.Length, "UNKNOWN-ATTRIBUTES stays in its buffer");
        Invariant.Holds(message.CollectUnknownRequired(KnownAttributes.WithNatBehavior, list) <= list.Length, "UNKNOWN-ATTRIBUTES stays in its buffer");
        Reencode(message, end);
    }

    private static int FirstOf(int a, int b, int c)
    {
        int first = -1;
        foreach (int offset in (ReadOnlySpan<int>)[a, b, c])
        {
            if (offset >= 0 && (first < 0 || offset < first))
            {
                first = offset;
            }
        }

        return first;
    }

    /// <summary>Every reader that applies to the attribute's type (RFC 8489 §14, RFC 8656 §18, RFC 5780 §7).</summary>
    private static void Read(in StunAttribute attribute, ReadOnlySpan<byte> cookieAndTransactionId, Span<byte> scratch, Span<ushort> list)
    {
        ReadOnlySpan<byte> value = attribute.Value;
        var type = (StunAttributeType)attribute.Type;
        switch (type)
        {
            case StunAttributeType.MappedAddress or StunAttributeType.ResponseAddress or StunAttributeType.SourceAddress
                or StunAttributeType.ChangedAddress or StunAttributeType.AlternateServer or StunAttributeType.ResponseOrigin
                or StunAttributeType.OtherAddress:
                if (AddressAttribute.TryRead(value, out StunAddress address))
                {
                    AddressAttribute.Write(scratch, address);
                    Invariant.Holds(AddressAttribute.ValueLength(address) == value.Length && scratch[1..value.Length].SequenceEqual(value[1..]), "an address writes back as it was read");
                }

                break;
            case StunAttributeType.XorMappedAddress or StunAttributeType.XorPeerAddress or StunAttributeType.XorRelayedAddress:
                if (AddressAttribute.TryReadXor(value, cookieAndTransactionId, out StunAddress xored))
                {
                    AddressAttribute.WriteXor(scratch, xored, cookieAndTransactionId);
                    Invariant.Holds(AddressAttribute.ValueLength(xored) == value.Length && scratch[1..value.Length].SequenceEqual(value[1..]), "an XOR address writes back as it was read");
                }

                break;
            case StunAttributeType.ErrorCode:
                if (ErrorCodeAttribute.TryRead(value, out int code, out ReadOnlySpan<byte> reason))
                {
                    Invariant.Holds(code is >= 300 and <= 699, "an error code is 300-699");
                    int written = ErrorCodeAttribute.Write(scratch, code, Encoding.UTF8.GetString(reason));
                    Invariant.Holds(
                        written == value.Length && scratch[2] == (value[2] & 0x07) && scratch[3] == value[3] && scratch[4..written].SequenceEqual(reason),
                        "an ERROR-CODE writes back as it was read");
                }

                break;
            case StunAttributeType.AddressErrorCode:
                ErrorCodeAttribute.TryReadAddressError(value, out _, out _, out _);
                break;
            case StunAttributeType.Username or StunAttributeType.Realm or StunAttributeType.Nonce
                or StunAttributeType.Software or StunAttributeType.AlternateDomain:
                int maxBytes = TextAttribute.MaxBytes(type);
                if (TextAttribute.IsValid(value, maxBytes))
                {
                    int length = TextAttribute.WriteUtf8(scratch, Encoding.UTF8.GetString(value), maxBytes);
                    Invariant.Holds(scratch[..length].SequenceEqual(value), "valid text writes back as it was read");
                }

                break;
            case StunAttributeType.UnknownAttributes:
                if (UnknownAttributes.TryRead(value, list, out int unknown))
                {
                    Invariant.Holds(unknown == Math.Min(value.Length / 2, list.Length), "UNKNOWN-ATTRIBUTES reads every type that fits");
                }

                break;
            case StunAttributeType.ChannelNumber:
                TurnAttributes.TryReadChannelNumber(value, out _);
                break;
            case StunAttributeType.Lifetime:
                TurnAttributes.TryReadLifetime(value, out _);
                break;
            case StunAttributeType.RequestedTransport:
                TurnAttributes.TryReadRequestedTransport(value, out _);
                break;
            case StunAttributeType.RequestedAddressFamily or StunAttributeType.AdditionalAddressFamily
                or StunAttributeType.AdditionalAddressFamilyDraft:
                if (TurnAttributes.TryReadAddressFamily(value, out byte family))
                {
                    Invariant.Holds(AddressAttribute.FamilyFromCode(family) is not null, "an accepted family has a name");
                }

                break;
            case StunAttributeType.EvenPort:
                TurnAttributes.TryReadEvenPort(value, out _);
                break;
            case StunAttributeType.ReservationToken:
                TurnAttributes.TryReadReservationToken(value, out _);
                break;
            case StunAttributeType.DontFragment:
                TurnAttributes.IsValidDontFragment(value);
                break;
            case StunAttributeType.Icmp:
                TurnAttributes.TryReadIcmp(value, out _, out _, out _);
                break;
            case StunAttributeType.ConnectionId:
                TurnAttributes.TryReadConnectionId(value, out _);
                break;
            case StunAttributeType.ChangeRequest:
                NatBehaviorAttributes.TryReadChangeRequest(value, out _, out _);
                break;
            case StunAttributeType.ResponsePort:
                NatBehaviorAttributes.TryReadResponsePort(value, out _);
                break;
            case StunAttributeType.PasswordAlgorithm:
                PasswordAlgorithm.TryRead(value, out _);
                break;
            case StunAttributeType.PasswordAlgorithms:
                if (PasswordAlgorithm.TryReadList(value, list, out int algorithms))
                {
                    Invariant.Holds(algorithms <= list.Length, "PASSWORD-ALGORITHMS stays in its buffer");
                }

                break;
            default:
                break;
        }
    }

    /// <summary>
    /// The attributes that count, written again by <see cref="StunWriter"/> with both integrity
    /// attributes and FINGERPRINT (when the message has the cookie), must parse to the same
    /// attributes with verifying integrity: the writer and the parser agree.
    /// </summary>
    private static void Reencode(in StunMessage message, int end)
    {
        const int Trailer = 4 + MessageIntegrity.Sha1Length + 4 + MessageIntegrity.Sha256Length + 8;
        if (end + Trailer > StunHeader.MaxMessageLength)
        {
            return;
        }

        var writer = new StunWriter(Reencoded, message.MessageType, message.CookieAndTransactionId);
        foreach (StunAttribute attribute in message.Attributes)
        {
            writer.AddBytes((StunAttributeType)attribute.Type, attribute.Value);
        }

        byte[] key = Keys[0];
        if (message.HasMagicCookie)
        {
            writer.AddMessageIntegrity(key);
            writer.AddMessageIntegritySha256(key);
            writer.AddFingerprint();
        }

        Invariant.Holds(StunMessage.TryParse(writer.Written, out StunMessage again) == StunParseStatus.Ok, "a re-encoded message parses");
        Invariant.Holds(again.MessageType == message.MessageType && again.CookieAndTransactionId.SequenceEqual(message.CookieAndTransactionId), "a re-encoded message keeps its header");
        if (message.HasMagicCookie)
        {
            Invariant.Holds(again.IntegrityOffset == end && again.IntegritySha256Offset == end + 24 && again.FingerprintOffset == end + 60, "the trailer is found where it was written");
            Invariant.Holds(MessageIntegrity.Verify(again.Raw, again.IntegrityOffset, sha256: false, key), "written MESSAGE-INTEGRITY verifies");
            Invariant.Holds(MessageIntegrity.Verify(again.Raw, again.IntegritySha256Offset, sha256: true, key), "written MESSAGE-INTEGRITY-SHA256 verifies");
        }

        StunAttributeEnumerator original = message.Attributes;
        foreach (StunAttribute attribute in again.Attributes)
        {
            Invariant.Holds(original.MoveNext(), "a re-encoded message has no attribute more");
            Invariant.Holds(original.Current.Type == attribute.Type && original.Current.Value.SequenceEqual(attribute.Value), "a re-encoded attribute is the same");
        }

        Invariant.Holds(!original.MoveNext(), "a re-encoded message has no attribute less");
    }
}
