using System.Buffers.Binary;
using System.Text;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>
/// Each vector rebuilt with <see cref="StunWriter"/> from its parsed attributes. RFC 5769 pads
/// with spaces where the writer pads with zeros, so those are compared by value; the zero-padded
/// long-term vectors must come out byte for byte.
/// </summary>
public sealed class RfcVectorReencodeTests
{
    public static TheoryData<string> AllVectors => Vectors.AllNames;

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void Vector_ReencodedWithWriter_ParsesVerifiesAndMatchesByValue(string vector)
    {
        byte[] original = Vectors.Load(vector);
        byte[] key = VectorCredentials.KeyFor(vector);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(original, out StunMessage source));

        byte[] encoded = Reencode(source, key);

        Assert.Equal(original.Length, encoded.Length);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(encoded, out StunMessage copy));
        Assert.Equal(source.MessageType, copy.MessageType);
        Assert.Equal(source.CookieAndTransactionId.ToArray(), copy.CookieAndTransactionId.ToArray());
        Assert.Equal(AttributeValues(source), AttributeValues(copy));
        Assert.Equal(source.IntegrityOffset, copy.IntegrityOffset);
        Assert.Equal(source.IntegritySha256Offset, copy.IntegritySha256Offset);
        Assert.Equal(source.FingerprintOffset, copy.FingerprintOffset);

        (int offset, bool sha256) = RfcVectorTests.IntegrityOf(copy);
        Assert.True(MessageIntegrity.Verify(copy.Raw, offset, sha256, key));
        Assert.False(MessageIntegrity.Verify(copy.Raw, offset, sha256, [1, 2, 3]));
    }

    [Theory]
    [InlineData(Vectors.Rfc5769LongTermRequest)]
    [InlineData(Vectors.Rfc8489Sha256Request)]
    public void ZeroPaddedVector_ReencodedWithWriter_IsByteIdentical(string vector)
    {
        byte[] original = Vectors.Load(vector);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(original, out StunMessage source));

        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(Reencode(source, VectorCredentials.KeyFor(vector))));
    }

    [Theory]
    [InlineData(Vectors.Rfc5769Request)]
    [InlineData(Vectors.Rfc5769Ipv4Response)]
    [InlineData(Vectors.Rfc5769Ipv6Response)]
    public void SpacePaddedVector_ReencodedWithWriter_MatchesOnceItsPaddingIsZeroed(string vector)
    {
        byte[] original = Vectors.Load(vector);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(original, out StunMessage source));
        byte[] encoded = Reencode(source, VectorCredentials.KeyFor(vector));

        // Outside the MESSAGE-INTEGRITY and FINGERPRINT values (which cover the padding), the
        // only differences are padding bytes: spaces in the RFC, zeros from the writer.
        int differences = 0;
        for (int i = 0; i < source.IntegrityOffset + 4; i++)
        {
            if (original[i] != encoded[i])
            {
                Assert.Equal(0x20, original[i]);
                Assert.Equal(0x00, encoded[i]);
                differences++;
            }
        }

        Assert.True(differences > 0);
    }

    internal static byte[] Reencode(in StunMessage source, byte[] key)
    {
        byte[] buffer = new byte[1500];
        var writer = new StunWriter(buffer, source.MessageType, source.CookieAndTransactionId);
        foreach (StunAttribute attribute in source.Attributes)
        {
            Copy(ref writer, attribute, source.CookieAndTransactionId);
        }

        if (source.IntegrityOffset >= 0)
        {
            writer.AddMessageIntegrity(key);
        }

        if (source.IntegritySha256Offset >= 0)
        {
            writer.AddMessageIntegritySha256(key);
        }

        if (source.FingerprintOffset >= 0)
        {
            writer.AddFingerprint();
        }

        return writer.Written.ToArray();
    }

    /// <summary>Through the typed writer where there is one, so that each is exercised.</summary>
    private static void Copy(ref StunWriter writer, StunAttribute attribute, ReadOnlySpan<byte> cookieAndTransactionId)
    {
        var type = (StunAttributeType)attribute.Type;
        switch (type)
        {
            case StunAttributeType.Software or StunAttributeType.Username or StunAttributeType.Realm or StunAttributeType.Nonce:
                writer.AddText(type, Encoding.UTF8.GetString(attribute.Value));
                break;
            case StunAttributeType.XorMappedAddress:
                Assert.True(AddressAttribute.TryReadXor(attribute.Value, cookieAndTransactionId, out StunAddress address));
                writer.AddXorAddress(type, address);
                break;
            case StunAttributeType.PasswordAlgorithm:
                Assert.True(PasswordAlgorithm.TryRead(attribute.Value, out ushort algorithm));
                writer.AddUInt16Reserved(type, algorithm);
                break;
            default:
                if (attribute.Value.Length == 4)
                {
                    writer.AddUInt32(type, BinaryPrimitives.ReadUInt32BigEndian(attribute.Value));
                }
                else
                {
                    writer.AddBytes(type, attribute.Value);
                }

                break;
        }
    }

    private static List<string> AttributeValues(in StunMessage message)
    {
        var values = new List<string>();
        foreach (StunAttribute attribute in message.Attributes)
        {
            values.Add($"{attribute.Type:X4}:{Convert.ToHexString(attribute.Value)}");
        }

        return values;
    }
}
