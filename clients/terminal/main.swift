print("saddle")
