using System.Buffers.Binary;
using System.Net;
using System.Text;
using Turn.Auth;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>RFC 5769 §2.1–2.4 and RFC 8489 Appendix B.1 (erratum 6268) parsed and verified as published.</summary>
public sealed class RfcVectorTests
{
    private static readonly byte[] Rfc5769TransactionId = Convert.FromHexString("B7E7A701BC34D686FA87DFAE");
    private static readonly byte[] LongTermTransactionId = Convert.FromHexString("78AD3433C6AD72C029DA412E");

    public static TheoryData<string> AllVectors => Vectors.AllNames;

    public static TheoryData<string> VectorsWithFingerprint => new()
    {
        Vectors.Rfc5769Request,
        Vectors.Rfc5769Ipv4Response,
        Vectors.Rfc5769Ipv6Response,
    };

    [Fact]
    public void Rfc5769Request_ParsesHeaderAndAttributes()
    {
        byte[] bytes = Vectors.Load(Vectors.Rfc5769Request);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        Assert.Equal(0x0001, message.MessageType);
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.Request, message.Class);
        Assert.True(message.HasMagicCookie);
        Assert.Equal(Rfc5769TransactionId, message.TransactionId.ToArray());
        Assert.Equal(
            ["8022:STUN test client", "0024:6E0001FF", "8029:932FF9B151263B36", "0006:evtj:h6vY"],
            Describe(message, textTypes: [0x8022, 0x0006]));
        Assert.Equal(bytes.Length - 32, message.IntegrityOffset);
        Assert.Equal(-1, message.IntegritySha256Offset);
        Assert.Equal(bytes.Length - 8, message.FingerprintOffset);

        Assert.True(TextAttribute.TryRead(message, StunAttributeType.Username, out ReadOnlySpan<byte> username));
        Assert.Equal(VectorCredentials.ShortTermUsername, Encoding.UTF8.GetString(username));
        Assert.True(TextAttribute.TryRead(message, StunAttributeType.Software, out ReadOnlySpan<byte> software));
        Assert.Equal("STUN test client", Encoding.UTF8.GetString(software));
    }

    [Fact]
    public void Rfc5769Request_IntegrityAndFingerprintVerify()
    {
        byte[] bytes = Vectors.Load(Vectors.Rfc5769Request);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        Assert.True(Fingerprint.Verify(message.Raw, message.FingerprintOffset));
        Assert.Equal(0xE57A3BCFu, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(message.FingerprintOffset + 4)));
        Assert.True(MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, VectorCredentials.ShortTermKey));
    }

    [Fact]
    public void Rfc5769Ipv4Response_DecodesXorMappedAddressAndVerifies()
    {
        byte[] bytes = Vectors.Load(Vectors.Rfc5769Ipv4Response);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        Assert.Equal(0x0101, message.MessageType);
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.Equal(Rfc5769TransactionId, message.TransactionId.ToArray());
        Assert.Equal(["8022:test vector", "0020:0001A147E112A643"], Describe(message, textTypes: [0x8022]));

        Assert.True(message.TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> value));
        Assert.True(AddressAttribute.TryReadXor(value, message.CookieAndTransactionId, out StunAddress mapped));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), mapped.ToIPEndPoint());
        Assert.Equal(StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853)), mapped);

        Assert.True(MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, VectorCredentials.ShortTermKey));
        Assert.Equal(bytes.Length - 8, message.FingerprintOffset);
    }

    [Fact]
    public void Rfc5769Ipv6Response_DecodesXorMappedAddressAndVerifies()
    {
        byte[] bytes = Vectors.Load(Vectors.Rfc5769Ipv6Response);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.Equal(Rfc5769TransactionId, message.TransactionId.ToArray());
        Assert.Equal(
            ["8022:test vector", "0020:0002A1470113A9FAA5D3F179BC25F4B5BED2B9D9"],
            Describe(message, textTypes: [0x8022]));

        Assert.True(message.TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> value));
        Assert.True(AddressAttribute.TryReadXor(value, message.CookieAndTransactionId, out StunAddress mapped));
        Assert.False(mapped.IsIPv4);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), mapped.ToIPEndPoint());

        Assert.True(MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, VectorCredentials.ShortTermKey));
        Assert.Equal(bytes.Length - 8, message.FingerprintOffset);
    }

    [Fact]
    public void Rfc5769LongTermRequest_IntegrityVerifiesWithSaslpreppedMd5Key()
    {
        byte[] bytes = Vectors.Load(Vectors.Rfc5769LongTermRequest);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(LongTermTransactionId, message.TransactionId.ToArray());
        Assert.Equal(
            [
                "0006:" + VectorCredentials.LongTermUsername,
                "0015:" + VectorCredentials.Rfc5769Nonce,
                "0014:" + VectorCredentials.Realm,
            ],
            Describe(message, textTypes: [0x0006, 0x0015, 0x0014]));
        Assert.Equal(bytes.Length - 24, message.IntegrityOffset);
        Assert.Equal(-1, message.FingerprintOffset);

        byte[] key = LongTermKey.Derive(PasswordAlgorithm.Md5, VectorCredentials.LongTermUsername, VectorCredentials.Realm, VectorCredentials.LongTermPassword)!;
        Assert.Equal(LongTermKey.Md5Length, key.Length);
        Assert.True(MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, key));
    }

    [Fact]
    public void Rfc8489Sha256Request_UserHashAndIntegritySha256Verify()
    {
        byte[] bytes = Vectors.Load(Vectors.Rfc8489Sha256Request);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        Assert.Equal(0x0090, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(2)));
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(LongTermTransactionId, message.TransactionId.ToArray());
        Assert.Equal(-1, message.IntegrityOffset);
        Assert.Equal(bytes.Length - 36, message.IntegritySha256Offset);
        Assert.Equal(-1, message.FingerprintOffset);

        Assert.True(message.TryGetAttribute(StunAttributeType.UserHash, out ReadOnlySpan<byte> userHash));
        Assert.Equal(LongTermKey.UserHash(VectorCredentials.LongTermUsername, VectorCredentials.Realm), userHash.ToArray());
        Assert.True(TextAttribute.TryRead(message, StunAttributeType.Nonce, out ReadOnlySpan<byte> nonce));
        Assert.Equal(VectorCredentials.Rfc8489Nonce, Encoding.UTF8.GetString(nonce));
        Assert.True(TextAttribute.TryRead(message, StunAttributeType.Realm, out ReadOnlySpan<byte> realm));
        Assert.Equal(VectorCredentials.Realm, Encoding.UTF8.GetString(realm));
        Assert.True(message.TryGetAttribute(StunAttributeType.PasswordAlgorithm, out ReadOnlySpan<byte> algorithmValue));
        Assert.True(PasswordAlgorithm.TryRead(algorithmValue, out ushort algorithm));
        Assert.Equal(PasswordAlgorithm.Sha256, algorithm);
        Assert.False(message.Contains(StunAttributeType.Username));

        byte[] key = LongTermKey.Derive(algorithm, VectorCredentials.LongTermUsername, VectorCredentials.Realm, VectorCredentials.LongTermPassword)!;
        Assert.Equal(LongTermKey.Sha256Length, key.Length);
        Assert.True(MessageIntegrity.Verify(message.Raw, message.IntegritySha256Offset, sha256: true, key));
        Assert.False(MessageIntegrity.Verify(message.Raw, message.IntegritySha256Offset, sha256: false, key));
    }

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void Vector_IntegrityFailsWithWrongKey(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        byte[] key = VectorCredentials.KeyFor(vector);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage message));
        (int offset, bool sha256) = IntegrityOf(message);
        Assert.True(MessageIntegrity.Verify(message.Raw, offset, sha256, key));

        byte[] wrong = (byte[])key.Clone();
        wrong[^1] ^= 0x01;
        Assert.False(MessageIntegrity.Verify(message.Raw, offset, sha256, wrong));
        Assert.False(MessageIntegrity.Verify(message.Raw, offset, sha256, Encoding.UTF8.GetBytes("wrong password")));
        Assert.False(MessageIntegrity.Verify(message.Raw, offset, sha256, []));
    }

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void Vector_ChangedByteBeforeIntegrity_FailsIntegrity(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        byte[] key = VectorCredentials.KeyFor(vector);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out StunMessage parsed));
        (int offset, bool sha256) = IntegrityOf(parsed);

        // Every byte the HMAC covers: the change is either refused by the parser or caught by the HMAC.
        for (int i = 0; i < offset; i++)
        {
            byte[] changed = (byte[])bytes.Clone();
            changed[i] ^= 0x20;
            if (StunMessage.TryParse(changed, out StunMessage message) == StunParseStatus.Ok)
            {
                Assert.False(MessageIntegrity.Verify(message.Raw, offset, sha256, key), $"byte {i} changed and integrity still verified");
            }
        }
    }

    [Theory]
    [MemberData(nameof(VectorsWithFingerprint))]
    public void Vector_FlippedFingerprintByte_IsBadFingerprint(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        for (int i = bytes.Length - 4; i < bytes.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                byte[] flipped = (byte[])bytes.Clone();
                flipped[i] ^= (byte)(1 << bit);
                Assert.Equal(StunParseStatus.BadFingerprint, StunMessage.TryParse(flipped, out _));
            }
        }
    }

    [Theory]
    [MemberData(nameof(VectorsWithFingerprint))]
    public void Vector_FlippedBodyByte_IsBadFingerprint(string vector)
    {
        byte[] bytes = Vectors.Load(vector);

        // The cookie is left alone: without it the FINGERPRINT attribute is malformed, not wrong.
        for (int i = 8; i < bytes.Length - 8; i++)
        {
            if (IsAttributeHeaderByte(bytes, i))
            {
                continue;
            }

            byte[] flipped = (byte[])bytes.Clone();
            flipped[i] ^= 0x01;
            Assert.Equal(StunParseStatus.BadFingerprint, StunMessage.TryParse(flipped, out _));
        }
    }

    internal static (int Offset, bool Sha256) IntegrityOf(in StunMessage message)
        => message.IntegrityOffset >= 0 ? (message.IntegrityOffset, false) : (message.IntegritySha256Offset, true);

    /// <summary>"TTTT:value" per counted attribute; text attributes as text, others as hex.</summary>
    internal static List<string> Describe(in StunMessage message, ushort[] textTypes)
    {
        var described = new List<string>();
        foreach (StunAttribute attribute in message.Attributes)
        {
            string value = Array.IndexOf(textTypes, attribute.Type) >= 0
                ? Encoding.UTF8.GetString(attribute.Value)
                : Convert.ToHexString(attribute.Value);
            described.Add($"{attribute.Type:X4}:{value}");
        }

        return described;
    }

    private static bool IsAttributeHeaderByte(byte[] message, int index)
    {
        int offset = StunHeader.Length;
        while (offset < message.Length)
        {
            if (index >= offset && index < offset + 4)
            {
                return true;
            }

            offset += 4 + Padding.Pad4(BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2)));
        }

        return false;
    }
}
