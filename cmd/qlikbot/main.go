// Command qlikbot is the chat-ops bot: configuration from QLIKBOT_*
// variables, wiring, run. With nothing configured it runs the console chat
// against the built-in Qlik Sense simulator.
package main

func main() {}
