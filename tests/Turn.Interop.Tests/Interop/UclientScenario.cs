using System.Net;
using System.Net.Sockets;

namespace Turn.Tests.Interop;

/// <summary>
/// One turnutils_uclient run and what it must show: the server it connected to, the families of
/// the relayed addresses it was given, and how many messages it sends (and must get back).
/// </summary>
internal sealed record UclientScenario(UclientMode Mode, IReadOnlyList<string> Arguments, IPEndPoint Server, IReadOnlyList<AddressFamily> RelayFamilies, int ExpectedMessages);
