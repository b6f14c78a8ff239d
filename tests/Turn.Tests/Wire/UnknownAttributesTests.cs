using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).</summary>
public sealed class UnknownAttributesTests
{
    [Theory]
    [InlineData(new ushort[] { })]
    [InlineData(new ushort[] { 0x0031 })]
    [InlineData(new ushort[] { 0x0031, 0x7FFF })]
    [InlineData(new ushort[] { 0x0031, 0x7FFF, 0x0002 })]
    public void WrittenList_ReadsBack(ushort[] types)
    {
        byte[] buffer = new byte[128];
        var writer = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.ErrorResponse, new byte[12]);
        writer.AddErrorCode(420, "Unknown Attribute");
        writer.AddUnknownAttributes(types);
        writer.AddFingerprint();

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
        Assert.True(message.TryGetAttribute(StunAttributeType.UnknownAttributes, out ReadOnlySpan<byte> value));
        Assert.Equal(types.Length * 2, value.Length);
        Span<ushort> read = stackalloc ushort[8];
        Assert.True(UnknownAttributes.TryRead(value, read, out int count));
        Assert.Equal(types, read[..count].ToArray());
    }

    [Fact]
    public void OddLength_IsRejected()
        => Assert.False(UnknownAttributes.TryRead([0x00, 0x31, 0x7F], new ushort[4], out _));

    [Fact]
    public void MoreTypesThanRoom_AreCutToTheRoom()
    {
        Assert.True(UnknownAttributes.TryRead([0x00, 0x01, 0x00, 0x02, 0x00, 0x03], new ushort[2], out int count));
        Assert.Equal(2, count);
    }
}
