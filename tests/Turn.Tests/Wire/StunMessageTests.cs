using System.Buffers.Binary;
using System.Net;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>Header checks and attribute placement rules (RFC 8489 §5, §6.3, §14.5–14.7).</summary>
public sealed class StunMessageTests
{
    private static readonly byte[] TransactionId = [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC];
    private static readonly byte[] Key = [0x10, 0x20, 0x30];

    [Fact]
    public void HeaderOnly_ParsesWithNoAttributes()
    {
        byte[] message = Write(static (ref StunWriter _) => { });

        Assert.Equal(StunHeader.Length, message.Length);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.Equal(TransactionId, parsed.TransactionId.ToArray());
        Assert.True(parsed.HasMagicCookie);
        Assert.Equal(-1, parsed.IntegrityOffset);
        Assert.Equal(-1, parsed.IntegritySha256Offset);
        Assert.Equal(-1, parsed.FingerprintOffset);
        foreach (StunAttribute attribute in parsed.Attributes)
        {
            Assert.Fail($"unexpected attribute {attribute.Type:X4}");
        }
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x80)]
    [InlineData(0xC0)]
    [InlineData(0xFF)]
    public void TopBitsSet_IsNotStun(byte first)
    {
        byte[] message = Write(static (ref StunWriter w) => w.AddText(StunAttributeType.Software, "x"));
        message[0] |= first;

        Assert.Equal(StunParseStatus.NotStun, StunMessage.TryParse(message, out _));
        Assert.Equal(StunParseStatus.NotStun, StunMessage.TryParse(message.AsSpan(0, 1), out _));
    }

    [Fact]
    public void Empty_IsTruncated() => Assert.Equal(StunParseStatus.Truncated, StunMessage.TryParse([], out _));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void LengthNotMultipleOfFour_IsBadLength(int length)
    {
        byte[] message = new byte[StunHeader.Length + length];
        Write(static (ref StunWriter _) => { }).CopyTo(message, 0);
        StunHeader.WriteLength(message, length);

        Assert.Equal(StunParseStatus.BadLength, StunMessage.TryParse(message, out _));
    }

    [Fact]
    public void LengthBeyondData_IsTruncated()
    {
        byte[] message = Write(static (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 600));
        StunHeader.WriteLength(message, 12);

        Assert.Equal(StunParseStatus.Truncated, StunMessage.TryParse(message, out _));
    }

    [Fact]
    public void LengthShortOfData_IsBadLength()
    {
        byte[] message = Write(static (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 600));
        StunHeader.WriteLength(message, 0);

        Assert.Equal(StunParseStatus.BadLength, StunMessage.TryParse(message, out _));
    }

    [Fact]
    public void AttributeOverrunningMessage_IsMalformed()
    {
        byte[] message = Write(static (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 600));
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(StunHeader.Length + 2), 5);

        Assert.Equal(StunParseStatus.MalformedAttribute, StunMessage.TryParse(message, out _));
    }

    [Fact]
    public void AttributesAfterMessageIntegrity_AreIgnoredButIntegritySha256AndFingerprintCount()
    {
        byte[] message = Write(static (ref StunWriter w) =>
        {
            w.AddText(StunAttributeType.Username, "alice");
            w.AddMessageIntegrity(Key);
            w.AddText(StunAttributeType.Software, "after integrity");
            w.AddUInt32(StunAttributeType.Lifetime, 0);
            w.AddMessageIntegritySha256(Key);
            w.AddFingerprint();
        });

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.Equal(["0006"], Types(parsed));
        Assert.False(parsed.Contains(StunAttributeType.Software));
        Assert.False(parsed.Contains(StunAttributeType.Lifetime));
        Assert.Equal(StunHeader.Length + 12, parsed.IntegrityOffset);
        Assert.Equal(message.Length - 8 - 36, parsed.IntegritySha256Offset);
        Assert.Equal(message.Length - 8, parsed.FingerprintOffset);
        Assert.True(MessageIntegrity.Verify(parsed.Raw, parsed.IntegrityOffset, sha256: false, Key));
        Assert.True(MessageIntegrity.Verify(parsed.Raw, parsed.IntegritySha256Offset, sha256: true, Key));
    }

    [Fact]
    public void AttributesAfterIntegritySha256_AreIgnoredButFingerprintCounts()
    {
        byte[] message = Write(static (ref StunWriter w) =>
        {
            w.AddUInt32(StunAttributeType.Lifetime, 600);
            w.AddMessageIntegritySha256(Key);
            w.AddMessageIntegrity(Key);
            w.AddText(StunAttributeType.Realm, "ignored");
            w.AddFingerprint();
        });

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.Equal(["000D"], Types(parsed));
        Assert.Equal(StunHeader.Length + 8, parsed.IntegritySha256Offset);
        Assert.Equal(-1, parsed.IntegrityOffset);
        Assert.True(MessageIntegrity.Verify(parsed.Raw, parsed.IntegritySha256Offset, sha256: true, Key));
        Assert.Equal(message.Length - 8, parsed.FingerprintOffset);
    }

    [Fact]
    public void ChangeAfterMessageIntegrity_DoesNotBreakIt()
    {
        byte[] message = Write(static (ref StunWriter w) =>
        {
            w.AddText(StunAttributeType.Username, "alice");
            w.AddMessageIntegrity(Key);
            w.AddText(StunAttributeType.Software, "tamper");
        });
        message[^1] ^= 0xFF;

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.True(MessageIntegrity.Verify(parsed.Raw, parsed.IntegrityOffset, sha256: false, Key));
    }

    [Fact]
    public void AnyAttributeAfterFingerprint_IsMalformed()
    {
        byte[] software = Write(static (ref StunWriter w) =>
        {
            w.AddFingerprint();
            w.AddText(StunAttributeType.Software, "late");
        });
        byte[] twoFingerprints = Write(static (ref StunWriter w) =>
        {
            w.AddFingerprint();
            w.AddFingerprint();
        });
        byte[] integrity = Write(static (ref StunWriter w) =>
        {
            w.AddFingerprint();
            w.AddMessageIntegrity(Key);
        });

        Assert.Equal(StunParseStatus.MalformedAttribute, StunMessage.TryParse(software, out _));
        Assert.Equal(StunParseStatus.MalformedAttribute, StunMessage.TryParse(twoFingerprints, out _));
        Assert.Equal(StunParseStatus.MalformedAttribute, StunMessage.TryParse(integrity, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(32)]
    public void MessageIntegrityOfWrongSize_IsMalformed(int length)
    {
        byte[] message = Write((ref StunWriter w) => w.AddBytes(StunAttributeType.MessageIntegrity, new byte[length]));
        Assert.Equal(StunParseStatus.MalformedAttribute, StunMessage.TryParse(message, out _));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(12, false)]
    [InlineData(16, true)]
    [InlineData(18, false)]
    [InlineData(20, true)]
    [InlineData(28, true)]
    [InlineData(32, true)]
    [InlineData(36, false)]
    public void MessageIntegritySha256Size_MustBe16To32AndMultipleOfFour(int length, bool accepted)
    {
        byte[] message = Write((ref StunWriter w) => w.AddBytes(StunAttributeType.MessageIntegritySha256, new byte[length]));
        Assert.Equal(accepted ? StunParseStatus.Ok : StunParseStatus.MalformedAttribute, StunMessage.TryParse(message, out _));
    }

    [Fact]
    public void TruncatedMessageIntegritySha256_VerifiesOnItsLeadingBytes()
    {
        byte[] full = Write(static (ref StunWriter w) =>
        {
            w.AddText(StunAttributeType.Username, "alice");
            w.AddMessageIntegritySha256(Key);
        });

        // RFC 8489 §14.6: a 16-byte value is the first 16 bytes of the HMAC over the message as it then stands.
        byte[] truncated = full.AsSpan(0, full.Length - 16).ToArray();
        StunHeader.WriteLength(truncated, truncated.Length - StunHeader.Length);
        BinaryPrimitives.WriteUInt16BigEndian(truncated.AsSpan(truncated.Length - 18), 16);
        byte[] mac = new byte[32];
        MessageIntegrity.Compute(truncated.AsSpan(0, truncated.Length - 20), sha256: true, Key, mac);
        mac.AsSpan(0, 16).CopyTo(truncated.AsSpan(truncated.Length - 16));

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(truncated, out StunMessage parsed));
        Assert.True(MessageIntegrity.Verify(parsed.Raw, parsed.IntegritySha256Offset, sha256: true, Key));
        Assert.False(MessageIntegrity.Verify(parsed.Raw, parsed.IntegritySha256Offset, sha256: true, [0x99]));
    }

    [Fact]
    public void FingerprintOfWrongSize_IsMalformed()
    {
        byte[] message = Write(static (ref StunWriter w) => w.AddBytes(StunAttributeType.Fingerprint, new byte[8]));
        Assert.Equal(StunParseStatus.MalformedAttribute, StunMessage.TryParse(message, out _));
    }

    [Fact]
    public void WrittenFingerprint_Verifies()
    {
        byte[] message = Write(static (ref StunWriter w) =>
        {
            w.AddText(StunAttributeType.Software, "turn");
            w.AddFingerprint();
        });

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.Equal(message.Length - 8, parsed.FingerprintOffset);
        Assert.Equal(
            Fingerprint.Crc32(message.AsSpan(0, message.Length - 8)) ^ 0x5354554Eu,
            BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(message.Length - 4)));
    }

    [Fact]
    public void Crc32_MatchesTheStandardCheckValue()
        => Assert.Equal(0xCBF43926u, Fingerprint.Crc32("123456789"u8));

    [Fact]
    public void ClassicRfc3489Message_ParsesWithoutMagicCookie()
    {
        // RFC 3489 §11.1: a 128-bit transaction ID where RFC 8489 has the cookie.
        byte[] id = Convert.FromHexString("0123456789ABCDEF0123456789ABCDEF");
        byte[] message = [0x00, 0x01, 0x00, 0x0C, .. id, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x0D, 0x96, 0xC0, 0x00, 0x02, 0x01];

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.False(parsed.HasMagicCookie);
        Assert.Equal(StunMethod.Binding, parsed.Method);
        Assert.Equal(StunClass.Request, parsed.Class);
        Assert.Equal(id, parsed.CookieAndTransactionId.ToArray());
        Assert.True(parsed.TryGetAttribute(StunAttributeType.MappedAddress, out ReadOnlySpan<byte> value));
        Assert.True(AddressAttribute.TryRead(value, out StunAddress address));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 3478), address.ToIPEndPoint());

        byte[] response = new byte[64];
        var writer = StunWriter.ForResponse(response, parsed, StunClass.SuccessResponse);
        writer.AddAddress(StunAttributeType.MappedAddress, address);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage reply));
        Assert.False(reply.HasMagicCookie);
        Assert.Equal(id, reply.CookieAndTransactionId.ToArray());
        Assert.Equal(0x0101, reply.MessageType);
    }

    [Fact]
    public void ResponseWriter_CopiesMethodCookieAndTransactionId()
    {
        byte[] requestBytes = Vectors.Load(Vectors.Rfc5769Request);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(requestBytes, out StunMessage request));
        byte[] buffer = new byte[128];

        var writer = StunWriter.ForResponse(buffer, request, StunClass.ErrorResponse);
        writer.AddErrorCode(401, "Unauthorized");

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage response));
        Assert.Equal(0x0111, response.MessageType);
        Assert.True(response.HasMagicCookie);
        Assert.Equal(request.TransactionId.ToArray(), response.TransactionId.ToArray());
    }

    [Fact]
    public void CollectUnknownRequired_ListsEachUnknownComprehensionRequiredTypeOnce()
    {
        byte[] message = Write(static (ref StunWriter w) =>
        {
            w.AddText(StunAttributeType.Username, "alice");
            w.AddUInt32((StunAttributeType)0x0024, 1);
            w.AddUInt32((StunAttributeType)0x7FFF, 2);
            w.AddUInt32((StunAttributeType)0x0024, 3);
            w.AddUInt32((StunAttributeType)0xC001, 4);
            w.AddMessageIntegrity(Key);
            w.AddUInt32((StunAttributeType)0x0031, 5);
        });
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));

        Span<ushort> unknown = stackalloc ushort[8];
        int count = parsed.CollectUnknownRequired(static type => type == (ushort)StunAttributeType.Username, unknown);

        Assert.Equal(new ushort[] { 0x0024, 0x7FFF }, unknown[..count].ToArray());
    }

    [Fact]
    public void Writer_PadsWithZerosAndKeepsHeaderLengthCurrent()
    {
        byte[] buffer = Enumerable.Repeat((byte)0xEE, 64).ToArray();
        var writer = StunWriter.Create(buffer, StunMethod.Binding, StunClass.Request, TransactionId);
        writer.AddBytes(StunAttributeType.Data, [1, 2, 3, 4, 5]);

        Assert.Equal(StunHeader.Length + 12, writer.Length);
        Assert.Equal(12, StunHeader.ReadLength(buffer));
        Assert.Equal(new byte[] { 0x00, 0x13, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0 }, buffer.AsSpan(StunHeader.Length, 12).ToArray());
        Assert.Equal(0xEE, buffer[writer.Length]);
    }

    [Fact]
    public void Writer_RefusesToOverrunItsBuffer()
    {
        byte[] buffer = new byte[32];
        bool threw = false;
        var writer = StunWriter.Create(buffer, StunMethod.Binding, StunClass.Request, TransactionId);
        writer.AddUInt32(StunAttributeType.Lifetime, 1);
        try
        {
            writer.AddUInt32(StunAttributeType.Lifetime, 2);
        }
        catch (InvalidOperationException)
        {
            threw = true;
        }

        Assert.True(threw);
        Assert.Equal(StunHeader.Length + 8, writer.Length);
    }

    private delegate void WriteAttributes(ref StunWriter writer);

    private static byte[] Write(WriteAttributes write)
    {
        byte[] buffer = new byte[1024];
        var writer = StunWriter.Create(buffer, StunMethod.Binding, StunClass.Request, TransactionId);
        write(ref writer);
        return writer.Written.ToArray();
    }

    private static List<string> Types(in StunMessage message)
    {
        var types = new List<string>();
        foreach (StunAttribute attribute in message.Attributes)
        {
            types.Add($"{attribute.Type:X4}");
        }

        return types;
    }
}
