using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// The interop tests start real servers and clients on loopback ports; run one at a time so that
/// the two cores are not crowded and a port picked by one test is not grabbed by another's child.
/// </summary>
[CollectionDefinition(Name)]
public sealed class InteropCollectionDefinition
{
    public const string Name = "Interop";
}
