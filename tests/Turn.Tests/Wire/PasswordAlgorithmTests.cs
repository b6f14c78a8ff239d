using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>PASSWORD-ALGORITHMS (RFC 8489 §14.11) and PASSWORD-ALGORITHM (§14.12).</summary>
public sealed class PasswordAlgorithmTests
{
    [Fact]
    public void RegistryValues_MatchIana()
    {
        Assert.Equal(0x0001, PasswordAlgorithm.Md5);
        Assert.Equal(0x0002, PasswordAlgorithm.Sha256);
    }

    [Fact]
    public void WrittenList_ReadsBackThroughWriterAndParser()
    {
        ushort[] algorithms = [PasswordAlgorithm.Sha256, PasswordAlgorithm.Md5];
        byte[] buffer = new byte[128];
        var writer = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.ErrorResponse, new byte[12]);
        writer.AddErrorCode(401, "Unauthorized");
        int length = PasswordAlgorithm.WriteList(writer.Reserve(StunAttributeType.PasswordAlgorithms, algorithms.Length * 4), algorithms);
        writer.AddFingerprint();

        Assert.Equal(8, length);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
        Assert.True(message.TryGetAttribute(StunAttributeType.PasswordAlgorithms, out ReadOnlySpan<byte> value));
        Assert.Equal(new byte[] { 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00 }, value.ToArray());
        Span<ushort> read = stackalloc ushort[4];
        Assert.True(PasswordAlgorithm.TryReadList(value, read, out int count));
        Assert.Equal(algorithms, read[..count].ToArray());
    }

    [Fact]
    public void ListWithParameters_SkipsThemByTheirPaddedLength()
    {
        byte[] value = [0x00, 0x09, 0x00, 0x03, 0xAA, 0xBB, 0xCC, 0x00, 0x00, 0x02, 0x00, 0x00];
        Span<ushort> read = stackalloc ushort[4];

        Assert.True(PasswordAlgorithm.TryReadList(value, read, out int count));
        Assert.Equal(new ushort[] { 0x0009, PasswordAlgorithm.Sha256 }, read[..count].ToArray());
    }

    [Theory]
    [InlineData("000100")]
    [InlineData("00010004000000")]
    [InlineData("0001000000020001")]
    public void MalformedList_IsRejected(string hex)
        => Assert.False(PasswordAlgorithm.TryReadList(Convert.FromHexString(hex), new ushort[4], out _));

    [Fact]
    public void EmptyList_IsEmpty()
    {
        Assert.True(PasswordAlgorithm.TryReadList([], new ushort[4], out int count));
        Assert.Equal(0, count);
    }

    [Theory]
    [InlineData("00020000", true, 0x0002)]
    [InlineData("00010000", true, 0x0001)]
    [InlineData("0009000211220000", true, 0x0009)]
    [InlineData("000200", false, 0)]
    [InlineData("0002000111", true, 0x0002)]
    [InlineData("00020002AA", false, 0)]
    [InlineData("0002000000000000", false, 0)]
    public void SingleAlgorithm_ReadsWhenParametersFitWithOrWithoutTheirPadding(string hex, bool ok, int expected)
    {
        Assert.Equal(ok, PasswordAlgorithm.TryRead(Convert.FromHexString(hex), out ushort algorithm));
        if (ok)
        {
            Assert.Equal(expected, algorithm);
        }
    }
}
